import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
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

  it('uses the log transport when SMTP_URL is unset', async () => {
    const mail = new MailService(loadConfig({ DATA_DIR: dataDir }));
    expect(mail.mode).toBe('log');
    await expect(
      mail.send({ to: 'a@example.test', subject: 'Hello', text: 'Body' }),
    ).resolves.toBeUndefined();
    mail.onApplicationShutdown();
  });
});
