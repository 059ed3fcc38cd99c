import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { TokensModule } from '../tokens/tokens.module';
import { AccountSessionsService } from './account-sessions.service';
import { AccountsController } from './accounts.controller';
import { AuthController } from './auth.controller';
import { AuthResolver } from './auth.resolver';
import { AuthService } from './auth.service';
import { AuthenticationMiddleware } from './authentication.middleware';
import { EmailVerificationService } from './email-verification.service';
import { LinkedAccountsService } from './linked-accounts.service';
import { OriginPolicy } from './origin-policy.service';
import { PasswordResetService } from './password-reset.service';
import { PasswordService } from './password.service';
import { PhoneVerificationService } from './phone-verification.service';
import { ProfileService } from './profile.service';
import { SessionCookieService } from './session-cookie.service';
import { SessionsController } from './sessions.controller';
import { SlugService } from './slug.service';
import { VerificationController } from './verification.controller';

/** Email and password accounts: sign-up, sign-in, sessions, verification, reset (SPEC section 3). */
@Module({
  imports: [TokensModule],
  controllers: [AuthController, SessionsController, VerificationController, AccountsController],
  providers: [
    AuthService,
    AuthResolver,
    AccountSessionsService,
    EmailVerificationService,
    LinkedAccountsService,
    OriginPolicy,
    PasswordResetService,
    PasswordService,
    PhoneVerificationService,
    ProfileService,
    SessionCookieService,
    SlugService,
    AuthenticationMiddleware,
  ],
  exports: [PasswordService, SlugService, SessionCookieService, OriginPolicy, ProfileService],
})
export class AuthModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AuthenticationMiddleware).forRoutes('{*path}');
  }
}
