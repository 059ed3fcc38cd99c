import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { REDACTED } from '../logging/redact';

/**
 * Sends a text message. The default writes it to the log; a deployment provides its own
 * implementation (an SMS gateway) by overriding this provider.
 */
export abstract class SmsSender {
  abstract send(to: string, text: string): Promise<void>;
}

/** A one-time code in a message: a run of 4 to 8 digits standing on its own. */
const CODE = /(?<!\d)\d{4,8}(?!\d)/g;

/**
 * The log transport. Outside production the message is logged whole, so that a newcomer can
 * confirm a phone without a gateway; in production its codes are redacted, since a log is read by
 * more people than the phone's owner (docs/SECURITY.md).
 */
@Injectable()
export class LogSmsSender extends SmsSender {
  private readonly logger = new Logger('Sms');
  private readonly redact: boolean;

  constructor(config: AppConfig) {
    super();
    this.redact = config.env === 'production';
  }

  async send(to: string, text: string): Promise<void> {
    const body = this.redact ? text.replace(CODE, REDACTED) : text;
    this.logger.log(`SMS (log transport) to ${to}: ${body}`);
  }
}
