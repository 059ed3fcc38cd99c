import { BadRequestException, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { AppConfig } from '../config/app-config';
import { AuthorRepository } from '../infra/database/tables/author.repository';
import { MailService } from '../infra/mail/mail.service';
import { EmailRateLimits } from '../rate-limit/email-rate-limits.service';
import { SessionTokenManager } from '../tokens/session-token.service';
import { VerificationTokenManager } from '../tokens/verification-token.service';
import type { ClientInfo } from '../infra/http/client-info.decorator';
import { PasswordService } from './password.service';

const TOKEN_TTL_SECONDS = 3600;

/** Forgot password → a single-use link by mail → a new password, and every session ends. */
@Injectable()
export class PasswordResetService {
  private readonly logger = new Logger(PasswordResetService.name);

  constructor(
    private readonly authors: AuthorRepository,
    private readonly tokens: VerificationTokenManager,
    private readonly sessions: SessionTokenManager,
    private readonly passwords: PasswordService,
    private readonly mail: MailService,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
    private readonly limits: EmailRateLimits,
  ) {}

  /**
   * Answers at once, the same for every email: the lookup and the mail happen afterwards, so
   * neither the answer nor its timing tells whether an account exists. `email` is normalized
   * (src/auth/email-address.ts): the limit counts, and the account is found by, that one value.
   */
  async forgot(email: string, client: ClientInfo): Promise<void> {
    await this.limits.forgotPassword(email);
    this.sendResetMail(email, client).catch((error: Error) =>
      this.logger.warn(`password reset mail failed: ${error.message}`),
    );
  }

  async reset(token: string, newPassword: string, client: ClientInfo): Promise<void> {
    const record = await this.tokens.confirmVerificationToken(token);
    if (!record || record.type !== 'password_reset') {
      throw new BadRequestException('Invalid or expired reset token');
    }
    const author = await this.authors.findById(record.userId);
    if (!author) throw new BadRequestException('Invalid or expired reset token');
    await this.authors.setPasswordHash(author.id, await this.passwords.hash(newPassword));
    const revoked = await this.sessions.revokeUserSessions(author.id);
    await this.audit.record('password_reset', {
      authorId: author.id,
      client,
      data: { sessions_revoked: revoked },
    });
  }

  private async sendResetMail(email: string, client: ClientInfo): Promise<void> {
    const author = await this.authors.findByEmail(email);
    await this.audit.record('password_reset_requested', {
      authorId: author?.id ?? null,
      client,
      data: author ? {} : { email, unknown_email: true },
    });
    if (!author || author.bannedAt !== null) return;
    const token = await this.tokens.createVerificationToken(
      author.id,
      'password_reset',
      {},
      TOKEN_TTL_SECONDS,
    );
    const link = `${this.config.frontendUrl}/reset-password?token=${token}`;
    await this.mail.send({
      to: author.email,
      subject: 'Reset your password',
      text: `Someone asked to reset the password of your Tessera account. To choose a new one, open this link within an hour:\n\n${link}\n\nIf it was not you, ignore this message; your password stays as it is.`,
    });
  }
}
