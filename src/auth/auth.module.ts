import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { MailModule } from '../infra/mail/mail.module';
import { SmsModule } from '../infra/sms/sms.module';
import { AccessModule } from '../permissions/access.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
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
import { JwksController } from './jwks.controller';
import { SessionsController } from './sessions.controller';
import { SlugService } from './slug.service';
import { VerificationController } from './verification.controller';

/** Email and password accounts: sign-up, sign-in, sessions, verification, reset (README, "Endpoints so far"). */
@Module({
  imports: [AuthCoreModule, AccessModule, AuditModule, MailModule, SmsModule, RateLimitModule],
  controllers: [
    AuthController,
    SessionsController,
    VerificationController,
    AccountsController,
    JwksController,
  ],
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
