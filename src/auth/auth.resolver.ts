import { ParseUUIDPipe } from '@nestjs/common';
import { Args, Context, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { Response } from 'express';
import { AuthRequired, CurrentAuth, Public } from '../permissions/access.decorator';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { AccountSessionsService } from './account-sessions.service';
import type { AuthContext } from '../permissions/auth-context';
import { LoginDto, RegisterDto, UpdateProfileDto } from './auth.dto';
import { AuthService, type IssuedSession } from './auth.service';
import { AuthPayload, ChangePasswordInput, ProfileType, SessionType } from './auth.types';
import { Client, type ClientInfo } from '../infra/http/client-info.decorator';
import { ProfileService } from './profile.service';
import { SessionCookieService } from './session-cookie.service';

@Resolver()
export class AuthResolver {
  constructor(
    private readonly auth: AuthService,
    private readonly profiles: ProfileService,
    private readonly sessions: AccountSessionsService,
    private readonly cookies: SessionCookieService,
  ) {}

  @Mutation(() => AuthPayload)
  @Public()
  @RateLimit('registerIp')
  async register(
    @Args('input') input: RegisterDto,
    @Client() client: ClientInfo,
    @Context('res') res: Response,
  ): Promise<AuthPayload> {
    return this.payload(await this.auth.register(input, client), res, input.mode);
  }

  @Mutation(() => AuthPayload)
  @Public()
  @RateLimit('loginIp', 'loginEmailIp', 'loginEmail')
  async login(
    @Args('input') input: LoginDto,
    @Client() client: ClientInfo,
    @Context('res') res: Response,
  ): Promise<AuthPayload> {
    return this.payload(
      await this.auth.login(input.email, input.password, client),
      res,
      input.mode,
    );
  }

  @Mutation(() => Boolean, {
    description: 'Ends the current session; true even when there was none',
  })
  @Public()
  async logout(
    @CurrentAuth() auth: AuthContext | undefined,
    @Client() client: ClientInfo,
    @Context('res') res: Response,
  ): Promise<boolean> {
    await this.auth.logout(auth, client);
    this.cookies.clear(res);
    return true;
  }

  @Query(() => ProfileType)
  @AuthRequired()
  me(@CurrentAuth() auth: AuthContext): Promise<ProfileType> {
    return this.profiles.view(auth.author);
  }

  @Query(() => [SessionType])
  @AuthRequired()
  mySessions(@CurrentAuth() auth: AuthContext): Promise<SessionType[]> {
    return this.sessions.list(auth);
  }

  @Mutation(() => ProfileType)
  @AuthRequired()
  updateProfile(
    @CurrentAuth() auth: AuthContext,
    @Args('input') input: UpdateProfileDto,
  ): Promise<ProfileType> {
    return this.profiles.update(auth.author.id, input);
  }

  @Mutation(() => Boolean, { description: 'Every other session is revoked' })
  @AuthRequired()
  @RateLimit('changePasswordSession')
  async changePassword(
    @CurrentAuth() auth: AuthContext,
    @Args('input') input: ChangePasswordInput,
    @Client() client: ClientInfo,
  ): Promise<boolean> {
    await this.auth.changePassword(auth, input.oldPassword, input.newPassword, client);
    return true;
  }

  @Mutation(() => Boolean)
  @AuthRequired()
  async revokeSession(
    @CurrentAuth() auth: AuthContext,
    @Args('id', { type: () => ID }, new ParseUUIDPipe({ version: '4' })) id: string,
    @Client() client: ClientInfo,
  ): Promise<boolean> {
    await this.sessions.revoke(auth, id, client);
    return true;
  }

  private payload(issued: IssuedSession, res: Response, mode = 'cookie'): AuthPayload {
    const token = this.cookies.deliver(res, issued.token, mode === 'bearer' ? 'bearer' : 'cookie');
    return { author: issued.author, session: issued.session, token };
  }
}
