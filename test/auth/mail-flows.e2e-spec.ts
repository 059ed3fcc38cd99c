import { createHash } from 'node:crypto';
import type { AddressObject, ParsedMail } from 'mailparser';
import { REDIS_STORE, type RedisStore } from '../../src/infra/redis/redis-store';
import { login, newRegistration, registerAuthor } from '../support/auth';
import { SmtpListener } from '../support/smtp-listener';
import { dumpStore } from '../support/store-drivers';
import { startTestApp, type TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

const FRONTEND_URL = 'https://app.example.test';
const VERIFY_SUBJECT = 'Confirm your email address';
const RESET_SUBJECT = 'Reset your password';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function recipients(mail: ParsedMail): string[] {
  const to: AddressObject[] = mail.to === undefined ? [] : [mail.to].flat();
  return to.flatMap((group) => group.value.map((address) => address.address?.toLowerCase() ?? ''));
}

describe('mail flows over real SMTP', () => {
  let listener: SmtpListener;
  let t: TestApp;

  beforeAll(async () => {
    listener = await new SmtpListener().start();
    t = await startTestApp({ SMTP_URL: listener.url, FRONTEND_URL });
  });
  afterAll(async () => {
    await t.close();
    await listener.stop();
  });

  const mailsTo = (email: string, subject: string) =>
    listener.messages.filter(
      (mail) => mail.subject === subject && recipients(mail).includes(email.toLowerCase()),
    );

  /** Waits for the `count`-th mail with that subject to that address and returns it. */
  const nthMail = (email: string, subject: string, count = 1) =>
    waitFor(() => mailsTo(email, subject)[count - 1], {
      message: `mail #${count} "${subject}" to ${email}`,
    });

  /** The token of the one link to `${FRONTEND_URL}${path}` in the mail; fails if the link is not there. */
  function linkToken(mail: ParsedMail, path: string): string {
    const pattern = new RegExp(
      `${escapeRegExp(`${FRONTEND_URL}${path}?token=`)}([A-Za-z0-9_-]+)`,
      'g',
    );
    const tokens = [...(mail.text ?? '').matchAll(pattern)].map((match) => match[1]);
    expect(tokens).toHaveLength(1);
    // An opaque url-safe token of at least 128 bits (README, "Tokens").
    expect(tokens[0].length).toBeGreaterThanOrEqual(22);
    return tokens[0];
  }

  const profileOf = (token: string) =>
    t.http().get('/auth/profile').set('Authorization', `Bearer ${token}`);

  it('register mails a single-use verification link that verifies the email', async () => {
    const author = await registerAuthor(t, 'bearer');
    expect(author.body.author.email_verified).toBe(false);

    const mail = await nthMail(author.email, VERIFY_SUBJECT);
    expect(recipients(mail)).toEqual([author.email.toLowerCase()]);
    const token = linkToken(mail, '/verify-email');

    const confirmed = await t.http().post('/auth/verify-email/confirm').send({ token }).expect(200);
    expect(confirmed.body).toEqual({ email_verified: true });
    expect((await profileOf(author.token!).expect(200)).body.email_verified).toBe(true);

    const reused = await t.http().post('/auth/verify-email/confirm').send({ token }).expect(400);
    expect(reused.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(JSON.stringify(reused.body)).not.toContain(token);
  });

  it('verify-email/request mails a new link that replaces the old one; 409 once verified', async () => {
    const author = await registerAuthor(t, 'bearer');
    const first = linkToken(await nthMail(author.email, VERIFY_SUBJECT), '/verify-email');

    await t
      .http()
      .post('/auth/verify-email/request')
      .set('Authorization', `Bearer ${author.token}`)
      .expect(202);
    const second = linkToken(await nthMail(author.email, VERIFY_SUBJECT, 2), '/verify-email');
    expect(second).not.toBe(first);

    // Only the newest link counts: an older mail lying around proves nothing any more.
    await t.http().post('/auth/verify-email/confirm').send({ token: first }).expect(400);
    await t.http().post('/auth/verify-email/confirm').send({ token: second }).expect(200);

    const again = await t
      .http()
      .post('/auth/verify-email/request')
      .set('Authorization', `Bearer ${author.token}`)
      .expect(409);
    expect(again.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
  });

  it('verify-email/request needs a session', async () => {
    await t.http().post('/auth/verify-email/request').expect(401);
  });

  it('refuses a made-up or malformed verification token with 400', async () => {
    await t
      .http()
      .post('/auth/verify-email/confirm')
      .send({ token: 'A'.repeat(43) })
      .expect(400);
    await t.http().post('/auth/verify-email/confirm').send({ token: 'not a token!' }).expect(400);
    await t.http().post('/auth/verify-email/confirm').send({}).expect(400);
  });

  it('forgot → reset changes the password, ends every session, and the link is single use', async () => {
    const author = await registerAuthor(t, 'cookie');
    const bearer = await login(t, author.email, author.password, 'bearer');
    await t.http().get('/auth/profile').set('Cookie', author.cookie!).expect(200);
    await profileOf(bearer.token!).expect(200);

    await t.http().post('/auth/password/forgot').send({ email: author.email }).expect(202);
    const mail = await nthMail(author.email, RESET_SUBJECT);
    expect(recipients(mail)).toEqual([author.email.toLowerCase()]);
    const token = linkToken(mail, '/reset-password');

    const newPassword = `${author.password}-new`;
    await t
      .http()
      .post('/auth/password/reset')
      .send({ token, new_password: newPassword })
      .expect(204);

    await t.http().get('/auth/profile').set('Cookie', author.cookie!).expect(401);
    await profileOf(bearer.token!).expect(401);
    await t
      .http()
      .post('/auth/login')
      .send({ email: author.email, password: author.password, mode: 'bearer' })
      .expect(401);
    const fresh = await login(t, author.email, newPassword, 'bearer');
    await profileOf(fresh.token!).expect(200);

    await t
      .http()
      .post('/auth/password/reset')
      .send({ token, new_password: 'attacker-chosen-password' })
      .expect(400);
    await t
      .http()
      .post('/auth/login')
      .send({ email: author.email, password: 'attacker-chosen-password' })
      .expect(401);
  });

  it('a token only works for its own purpose', async () => {
    const author = await registerAuthor(t, 'bearer');
    const verifyToken = linkToken(await nthMail(author.email, VERIFY_SUBJECT), '/verify-email');
    await t.http().post('/auth/password/forgot').send({ email: author.email }).expect(202);
    const resetToken = linkToken(await nthMail(author.email, RESET_SUBJECT), '/reset-password');

    await t
      .http()
      .post('/auth/password/reset')
      .send({ token: verifyToken, new_password: 'attacker-chosen-password' })
      .expect(400);
    await t.http().post('/auth/verify-email/confirm').send({ token: resetToken }).expect(400);

    await t
      .http()
      .post('/auth/login')
      .send({ email: author.email, password: 'attacker-chosen-password' })
      .expect(401);
    expect((await profileOf(author.token!).expect(200)).body.email_verified).toBe(false);
  });

  it('forgot answers an unknown email exactly like a known one, and mails nobody', async () => {
    const unknown = newRegistration().email;
    const known = await registerAuthor(t, 'bearer');

    const forUnknown = await t
      .http()
      .post('/auth/password/forgot')
      .send({ email: unknown })
      .expect(202);
    const forKnown = await t
      .http()
      .post('/auth/password/forgot')
      .send({ email: known.email })
      .expect(202);
    expect(forUnknown.text).toBe(forKnown.text);

    // The known address's mail was queued after the unknown one's lookup, so once it is here the
    // unknown request has been dealt with.
    await nthMail(known.email, RESET_SUBJECT);
    expect(listener.messages.filter((mail) => recipients(mail).includes(unknown))).toEqual([]);
  });

  it('keeps no raw verification or reset token in Redis', async () => {
    const author = await registerAuthor(t, 'bearer');
    const verifyToken = linkToken(await nthMail(author.email, VERIFY_SUBJECT), '/verify-email');
    await t.http().post('/auth/password/forgot').send({ email: author.email }).expect(202);
    const resetToken = linkToken(await nthMail(author.email, RESET_SUBJECT), '/reset-password');

    const entries = await dumpStore(t.app.get<RedisStore>(REDIS_STORE));
    // The dump does see the tokens' records, under their hashes.
    expect(entries.has(`verification:${sha256(verifyToken)}`)).toBe(true);
    expect(entries.has(`verification:${sha256(resetToken)}`)).toBe(true);
    for (const [key, value] of entries) {
      for (const token of [verifyToken, resetToken]) {
        expect(key).not.toContain(token);
        expect(value).not.toContain(token);
      }
    }
  });
});
