import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCookieAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { Author } from '../infra/database/tables/author.entity';
import { AuthRequired, CurrentUser, Public } from '../permissions/access.decorator';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { EmailVerifiedDto, PhoneVerifiedDto } from './auth-response.dto';
import {
  ForgotPasswordDto,
  PhoneConfirmDto,
  PhoneRequestDto,
  ResetPasswordDto,
  TokenDto,
} from './auth.dto';
import { Client, type ClientInfo } from '../infra/http/client-info.decorator';
import { EmailVerificationService } from './email-verification.service';
import { PasswordResetService } from './password-reset.service';
import { PhoneVerificationService } from './phone-verification.service';
import { NoBodyPipe } from '../infra/http/no-body.pipe';

/** Proving an email or a phone, and resetting a forgotten password. */
@ApiTags('verification')
@Controller('auth')
export class VerificationController {
  constructor(
    private readonly email: EmailVerificationService,
    private readonly reset: PasswordResetService,
    private readonly phone: PhoneVerificationService,
  ) {}

  @Post('verify-email/request')
  @AuthRequired()
  @HttpCode(202)
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiAcceptedResponse({ description: 'a verification link is on its way' })
  @ApiConflictResponse({ description: 'the email is already verified' })
  async requestEmailVerification(
    @Body(NoBodyPipe) _body: undefined,
    @CurrentUser() author: Author,
  ): Promise<void> {
    await this.email.request(author);
  }

  @Post('verify-email/confirm')
  @Public()
  @HttpCode(200)
  @ApiOkResponse({ type: EmailVerifiedDto })
  @ApiBadRequestResponse({ description: 'the token is invalid, expired or used' })
  async confirmEmail(
    @Body() body: TokenDto,
    @Client() client: ClientInfo,
  ): Promise<EmailVerifiedDto> {
    await this.email.confirm(body.token, client);
    return { email_verified: true };
  }

  @Post('password/forgot')
  @Public()
  @HttpCode(202)
  @RateLimit('forgotEmail')
  @ApiAcceptedResponse({ description: 'the same answer whether or not the email has an account' })
  @ApiTooManyRequestsResponse({ description: 'too many requests for this email' })
  async forgotPassword(
    @Body() body: ForgotPasswordDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.reset.forgot(body.email, client);
  }

  @Post('password/reset')
  @Public()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'the password is changed and every session is revoked' })
  @ApiBadRequestResponse({ description: 'the token is invalid, expired or used' })
  async resetPassword(@Body() body: ResetPasswordDto, @Client() client: ClientInfo): Promise<void> {
    await this.reset.reset(body.token, body.new_password, client);
  }

  @Post('phone/request')
  @AuthRequired()
  @HttpCode(202)
  @RateLimit('phoneUser')
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiAcceptedResponse({ description: 'a 6-digit code is sent by SMS; valid 10 minutes, 5 tries' })
  async requestPhoneCode(
    @CurrentUser() author: Author,
    @Body() body: PhoneRequestDto,
  ): Promise<void> {
    await this.phone.request(author.id, body.phone);
  }

  @Post('phone/confirm')
  @AuthRequired()
  @HttpCode(200)
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiOkResponse({ type: PhoneVerifiedDto })
  @ApiBadRequestResponse({ description: 'wrong, expired or exhausted code' })
  async confirmPhone(
    @CurrentUser() author: Author,
    @Body() body: PhoneConfirmDto,
    @Client() client: ClientInfo,
  ): Promise<PhoneVerifiedDto> {
    const { phone } = await this.phone.confirm(author.id, body.phone, body.code, client);
    return { phone, phone_verified: true };
  }
}
