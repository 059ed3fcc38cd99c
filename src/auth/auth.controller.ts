import { Body, Controller, Get, HttpCode, Post, Put, Res } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiBearerAuth,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { AuthRequired, CurrentAuth, Public } from '../permissions/access.decorator';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import type { AuthContext } from '../permissions/auth-context';
import { AuthResponseDto, ProfileDto } from './auth-response.dto';
import { ChangePasswordDto, LoginDto, RegisterDto, UpdateProfileDto } from './auth.dto';
import { AuthService } from './auth.service';
import { Client, type ClientInfo } from '../infra/http/client-info.decorator';
import { ProfileService } from './profile.service';
import { SessionCookieService } from './session-cookie.service';
import { NoBodyPipe } from '../infra/http/no-body.pipe';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly profiles: ProfileService,
    private readonly cookies: SessionCookieService,
  ) {}

  @Post('register')
  @Public()
  @RateLimit('registerIp')
  @ApiCreatedResponse({ type: AuthResponseDto, description: 'signed up and signed in' })
  @ApiConflictResponse({ description: 'an account with this email exists' })
  @ApiTooManyRequestsResponse({ description: 'too many sign-ups from this IP' })
  async register(
    @Body() body: RegisterDto,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AuthResponseDto> {
    const issued = await this.auth.register(body, client);
    return AuthResponseDto.of(
      issued,
      this.cookies.deliver(res, issued.token, body.mode ?? 'cookie'),
    );
  }

  @Post('login')
  @Public()
  @HttpCode(200)
  @RateLimit('loginIp', 'loginEmailIp', 'loginEmail')
  @ApiOkResponse({ type: AuthResponseDto })
  @ApiUnauthorizedResponse({ description: 'Invalid email or password' })
  @ApiForbiddenResponse({ description: 'the account is suspended' })
  @ApiTooManyRequestsResponse({
    description: 'too many attempts from this IP, or wrong passwords for this email',
  })
  async login(
    @Body() body: LoginDto,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AuthResponseDto> {
    const issued = await this.auth.login(body.email, body.password, client);
    return AuthResponseDto.of(
      issued,
      this.cookies.deliver(res, issued.token, body.mode ?? 'cookie'),
    );
  }

  @Post('logout')
  @Public()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'signed out (also when there was no session)' })
  async logout(
    @Body(NoBodyPipe) _body: undefined,
    @CurrentAuth() auth: AuthContext | undefined,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    await this.auth.logout(auth, client);
    this.cookies.clear(res);
  }

  @Post('refresh')
  @AuthRequired()
  @HttpCode(200)
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiOkResponse({
    type: AuthResponseDto,
    description:
      'a new session; the old one is revoked. Cookie callers get a new cookie, bearer callers a token',
  })
  async refresh(
    @Body(NoBodyPipe) _body: undefined,
    @CurrentAuth() auth: AuthContext,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AuthResponseDto> {
    const issued = await this.auth.refresh(auth, client);
    return AuthResponseDto.of(issued, this.cookies.deliver(res, issued.token, auth.via));
  }

  @Get('profile')
  @AuthRequired()
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiOkResponse({ type: ProfileDto })
  async profile(@CurrentAuth() auth: AuthContext): Promise<ProfileDto> {
    return ProfileDto.of(await this.profiles.view(auth.author));
  }

  @Put('profile')
  @AuthRequired()
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiOkResponse({ type: ProfileDto })
  @ApiConflictResponse({ description: 'the slug is taken' })
  async updateProfile(
    @CurrentAuth() auth: AuthContext,
    @Body() body: UpdateProfileDto,
  ): Promise<ProfileDto> {
    return ProfileDto.of(await this.profiles.update(auth.author.id, body));
  }

  @Post('change-password')
  @AuthRequired()
  @HttpCode(204)
  @RateLimit('changePasswordSession')
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiNoContentResponse({ description: 'changed; every other session is revoked' })
  @ApiForbiddenResponse({ description: 'the current password is not correct' })
  @ApiTooManyRequestsResponse({ description: 'too many tries in this session' })
  async changePassword(
    @CurrentAuth() auth: AuthContext,
    @Body() body: ChangePasswordDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.auth.changePassword(auth, body.old_password, body.new_password, client);
  }
}
