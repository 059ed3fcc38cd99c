import { Injectable, Logger } from '@nestjs/common';

/**
 * Sends a text message. The default writes it to the log; a deployment provides its own
 * implementation (an SMS gateway) by overriding this provider.
 */
export abstract class SmsSender {
  abstract send(to: string, text: string): Promise<void>;
}

@Injectable()
export class LogSmsSender extends SmsSender {
  private readonly logger = new Logger('Sms');

  async send(to: string, text: string): Promise<void> {
    this.logger.log(`SMS (log transport) to ${to}: ${text}`);
  }
}
