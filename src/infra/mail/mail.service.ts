import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createTransport, type Transporter } from 'nodemailer';
import { AppConfig } from '../../config/app-config';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/**
 * Sends mail through SMTP_URL, or, with none, writes each message (with its links) to the log, so
 * that a newcomer can follow a verification link without a mail server.
 */
@Injectable()
export class MailService implements OnApplicationShutdown {
  private readonly logger = new Logger(MailService.name);
  private readonly transport: Transporter;
  readonly mode: 'smtp' | 'log';

  constructor(private readonly config: AppConfig) {
    this.mode = config.mail.smtpUrl ? 'smtp' : 'log';
    this.transport = config.mail.smtpUrl
      ? createTransport(config.mail.smtpUrl)
      : createTransport({ jsonTransport: true });
  }

  async send(mail: OutgoingMail): Promise<void> {
    const info = await this.transport.sendMail({ from: this.config.mail.from, ...mail });
    if (this.mode === 'log') {
      this.logger.log(`Mail (log transport) to ${mail.to}: ${mail.subject}\n${mail.text}`);
    } else {
      this.logger.log(`Mail sent to ${mail.to}: ${mail.subject} (${String(info.messageId)})`);
    }
  }

  onApplicationShutdown(): void {
    this.transport.close();
  }
}
