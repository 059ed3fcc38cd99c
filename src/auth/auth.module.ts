import { Module } from '@nestjs/common';
import { AccountSessionsService } from './account-sessions.service';
import { AccountsController } from './accounts.controller';
import { AuthCoreModule } from './auth-core.module';
import { AuthController } from './auth.controller';
import { AuthResolver } from './auth.resolver';
import { AuthService } from './auth.service';
import { EmailVerificationService } from './email-verification.service';
import { LinkedAccountsService } from './linked-accounts.service';
import { PasswordResetService } from './password-reset.service';
import { PasswordService } from './password.service';
import { PhoneVerificationService } from './phone-verification.service';
import { ProfileService } from './profile.service';
import { SessionsController } from './sessions.controller';
import { SlugService } from './slug.service';
import { VerificationController } from './verification.controller';

/** Email and password accounts: sign-up, sign-in, sessions, verification, reset (SPEC section 3). */
@Module({
  imports: [AuthCoreModule],
  controllers: [AuthController, SessionsController, VerificationController, AccountsController],
  providers: [
    AuthService,
    AuthResolver,
    AccountSessionsService,
    EmailVerificationService,
    LinkedAccountsService,
    PasswordResetService,
    PasswordService,
    PhoneVerificationService,
    ProfileService,
    SlugService,
  ],
  exports: [PasswordService, SlugService, ProfileService],
})
export class AuthModule {}
