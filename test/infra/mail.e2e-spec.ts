import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { loadConfig, type RawEnvironment } from '../../src/config/load-config';
import { MailService } from '../../src/infra/mail/mail.service';
import { SmtpListener } from '../support/smtp-listener';
import { waitFor } from '../support/wait-for';

describe('MailService', () => {
  let dataDir: string;
  let smtp: SmtpListener;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-mail-'));
    smtp = await new SmtpListener().start();
  });
  afterAll(async () => {
    await smtp.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers through SMTP_URL to a real SMTP listener', async () => {
    const mail = new MailService(
      loadConfig({
        DATA_DIR: dataDir,
        SMTP_URL: smtp.url,
        MAIL_FROM: 'Tessera <no-reply@tessera.test>',
      }),
    );
    const to = `reader-${Date.now()}@example.test`;
    await mail.send({
      to,
      subject: 'Confirm your email',
      text: 'Open http://localhost/verify?token=abc',
    });
    const arrived = () => smtp.messages.find((m) => m.subject === 'Confirm your email');
    await waitFor(arrived, { message: 'the message to arrive' });
    const received = arrived()!;
    expect(received.from?.value[0]).toMatchObject({
      name: 'Tessera',
      address: 'no-reply@tessera.test',
    });
    expect(JSON.stringify(received.to)).toContain(to);
    expect(received.text).toContain('http://localhost/verify?token=abc');
    mail.onApplicationShutdown();
  });

  describe('the log transport (no SMTP_URL)', () => {
    const token = randomBytes(32).toString('base64url');
    const resetMail = {
      to: 'a@example.test',
      subject: 'Reset your password',
      text: `Open this link within an hour:\n\nhttp://localhost:3000/reset-password?token=${token}\n\nIf it was not you, ignore this message.`,
    };
    let logged: jest.SpiedFunction<Logger['log']>;
    let warned: jest.SpiedFunction<Logger['warn']>;
    const messages = (spy: jest.SpiedFunction<Logger['log']>) =>
      spy.mock.calls.map(([message]) => String(message));
    const logTransport = (env: RawEnvironment) => {
      const mail = new MailService(loadConfig({ DATA_DIR: dataDir, ...env }));
      expect(mail.mode).toBe('log');
      return mail;
    };

    beforeEach(() => {
      logged = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
      warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    });
    afterEach(() => jest.restoreAllMocks());

    it('outside production writes the whole message, link included, and warns of nothing', async () => {
      const mail = logTransport({});
      await mail.send(resetMail);
      expect(messages(logged)).toEqual([
        `Mail (log transport) to a@example.test: Reset your password\n${resetMail.text}`,
      ]);
      expect(warned).not.toHaveBeenCalled();
      mail.onApplicationShutdown();
    });

    it('in production (MAIL_ALLOW_LOG_TRANSPORT=true) warns once at start and redacts every token', async () => {
      const mail = logTransport({
        NODE_ENV: 'production',
        JWT_SECRET: randomBytes(48).toString('base64'),
        MAIL_ALLOW_LOG_TRANSPORT: 'true',
      });
      expect(messages(warned)).toEqual([
        expect.stringMatching(/^No SMTP_URL: mail is not delivered.*tokens redacted/),
      ]);
      await mail.send(resetMail);
      await mail.send({ ...resetMail, text: `Your code: ${token}` });
      expect(messages(logged)).toEqual([
        'Mail (log transport) to a@example.test: Reset your password\nOpen this link within an hour:\n\nhttp://localhost:3000/reset-password?token=[REDACTED]\n\nIf it was not you, ignore this message.',
        'Mail (log transport) to a@example.test: Reset your password\nYour code: [REDACTED]',
      ]);
      expect(warned).toHaveBeenCalledTimes(1);
      mail.onApplicationShutdown();
    });
  });
});
