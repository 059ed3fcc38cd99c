import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createTransport, type Transporter } from 'nodemailer';
import { AppConfig } from '../../config/app-config';
import { redactSecrets } from '../logging/redact';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/**
 * Sends mail through SMTP_URL, or, with none, writes each message to the log. Outside production the
 * log keeps the links whole, so that a newcomer can follow a verification link without a mail
 * server. Production refuses to start without SMTP_URL unless MAIL_ALLOW_LOG_TRANSPORT is set (see
 * loadConfig); then the log gets the message with every token redacted, since a log is read by more
 * people than a mailbox and a reset link is a password.
 */
@Injectable()
export class MailService implements OnApplicationShutdown {
  private readonly logger = new Logger(MailService.name);
  private readonly transport: Transporter;
  readonly mode: 'smtp' | 'log';
  private readonly redact: boolean;

  constructor(private readonly config: AppConfig) {
    this.mode = config.mail.smtpUrl ? 'smtp' : 'log';
    this.redact = config.env === 'production';
    this.transport = config.mail.smtpUrl
      ? createTransport(config.mail.smtpUrl)
      : createTransport({ jsonTransport: true });
    if (this.mode === 'log' && this.redact) {
      this.logger.warn(
        'No SMTP_URL: mail is not delivered, only written to the log with its tokens redacted (MAIL_ALLOW_LOG_TRANSPORT=true); verification and reset links cannot be followed',
      );
    }
  }

  async send(mail: OutgoingMail): Promise<void> {
    const info = await this.transport.sendMail({ from: this.config.mail.from, ...mail });
    if (this.mode === 'log') {
      const entry = `Mail (log transport) to ${mail.to}: ${mail.subject}\n${mail.text}`;
      this.logger.log(this.redact ? redactSecrets(entry) : entry);
    } else {
      this.logger.log(`Mail sent to ${mail.to}: ${mail.subject} (${String(info.messageId)})`);
    }
  }

  onApplicationShutdown(): void {
    this.transport.close();
  }
}
