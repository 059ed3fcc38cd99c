import { BadRequestException, ConflictException, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { AppConfig } from '../config/app-config';
import { AuthorRepository } from '../infra/database/tables/author.repository';
import { MailService } from '../infra/mail/mail.service';
import { VerificationTokenManager } from '../tokens/verification-token.service';
import type { Author } from '../infra/database/tables/author.entity';
import type { ClientInfo } from '../infra/http/client-info.decorator';

const TOKEN_TTL_SECONDS = 3600;

/** Proves that an author owns their email: a single-use link to FRONTEND_URL/verify-email. */
@Injectable()
export class EmailVerificationService {
  private readonly logger = new Logger(EmailVerificationService.name);

  constructor(
    private readonly authors: AuthorRepository,
    private readonly tokens: VerificationTokenManager,
    private readonly mail: MailService,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  async request(author: Author): Promise<void> {
    if (author.emailVerified) throw new ConflictException('Email is already verified');
    await this.send(author);
  }

  /** Sends the mail without holding up the caller; a failure is logged, and `request` can retry. */
  sendInBackground(author: Author): void {
    this.send(author).catch((error: Error) =>
      this.logger.warn(`verification mail to author ${author.id} failed: ${error.message}`),
    );
  }

  async confirm(token: string, client: ClientInfo): Promise<{ authorId: number }> {
    const record = await this.tokens.confirmVerificationToken(token);
    const author =
      record?.type === 'email_verification' ? await this.authors.findById(record.userId) : null;
    // A token for an address the author no longer has proves nothing.
    if (!record || !author || record.data.email !== author.email.toLowerCase()) {
      throw new BadRequestException('Invalid or expired verification token');
    }
    await this.authors.markEmailVerified(author.id);
    await this.audit.record('email_verified', { authorId: author.id, client });
    return { authorId: author.id };
  }

  private async send(author: Author): Promise<void> {
    const token = await this.tokens.createVerificationToken(
      author.id,
      'email_verification',
      { email: author.email.toLowerCase() },
      TOKEN_TTL_SECONDS,
    );
    const link = `${this.config.frontendUrl}/verify-email?token=${token}`;
    await this.mail.send({
      to: author.email,
      subject: 'Confirm your email address',
      text: `Confirm your email address for Tessera by opening this link within an hour:\n\n${link}\n\nIf you did not sign up, ignore this message.`,
    });
  }
}
