import { randomInt } from 'node:crypto';
import { jest } from '@jest/globals';
import { REDIS_STORE, type RedisStore } from '../../src/infra/redis/redis-store';
import { SmsSender } from '../../src/infra/sms/sms.service';
import { registerAuthor, type SignedIn } from '../support/auth';
import { startTestApp, type TestApp } from '../support/test-app';

const TEN_MINUTES_MS = 10 * 60 * 1000;

/** A phone number no other test uses. */
const newPhone = () => `+1555${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;

/** A well-formed code that is certainly not `code`. */
const otherThan = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

describe('phone verification', () => {
  let t: TestApp;
  let store: RedisStore;
  let sent: jest.SpiedFunction<SmsSender['send']>;

  beforeAll(async () => {
    t = await startTestApp();
    store = t.app.get<RedisStore>(REDIS_STORE);
    sent = jest.spyOn(t.app.get(SmsSender), 'send');
  });
  afterAll(async () => {
    sent.mockRestore();
    await t.close();
  });

  const request = (author: SignedIn, phone: string) =>
    t
      .http()
      .post('/auth/phone/request')
      .set('Authorization', `Bearer ${author.token}`)
      .send({ phone });

  const confirm = (author: SignedIn, phone: string, code: string) =>
    t
      .http()
      .post('/auth/phone/confirm')
      .set('Authorization', `Bearer ${author.token}`)
      .send({ phone, code });

  const profile = async (author: SignedIn) =>
    (await t.http().get('/auth/profile').set('Authorization', `Bearer ${author.token}`).expect(200))
      .body;

  /** The code of the last SMS sent to `phone`; fails when none was. */
  function lastCodeTo(phone: string): string {
    const texts = sent.mock.calls.filter(([to]) => to === phone).map(([, text]) => text);
    expect(texts.length).toBeGreaterThan(0);
    const code = /\b(\d{6})\b/.exec(texts[texts.length - 1])?.[1];
    expect(code).toBeDefined();
    return code!;
  }

  /** Asks for a code for `phone` and returns the one the SMS carried. */
  async function requestCode(author: SignedIn, phone: string): Promise<string> {
    const before = sent.mock.calls.length;
    await request(author, phone).expect(202);
    expect(sent.mock.calls.length).toBe(before + 1);
    return lastCodeTo(phone);
  }

  it('sends a 6-digit code by SMS that verifies the phone once', async () => {
    const author = await registerAuthor(t);
    const phone = '+15551234567';
    expect(await profile(author)).toMatchObject({ phone: null, phone_verified: false });

    const code = await requestCode(author, phone);
    expect(code).toMatch(/^\d{6}$/);

    const confirmed = await confirm(author, phone, code).expect(200);
    expect(confirmed.body).toEqual({ phone, phone_verified: true });
    expect(await profile(author)).toMatchObject({ phone, phone_verified: true });

    const reused = await confirm(author, phone, code).expect(400);
    expect(reused.body.message).toMatch(/^No pending code/);
  });

  it('kills the code at the 5th wrong try, so the right one no longer works', async () => {
    const author = await registerAuthor(t);
    const phone = newPhone();
    const code = await requestCode(author, phone);
    const wrong = otherThan(code);

    for (let attempt = 1; attempt <= 4; attempt++) {
      const res = await confirm(author, phone, wrong).expect(400);
      expect(res.body).toEqual({ statusCode: 400, message: 'Wrong code', error: 'Bad Request' });
    }
    const fifth = await confirm(author, phone, wrong).expect(400);
    expect(fifth.body.message).toBe('Too many wrong codes; request a new one');

    const right = await confirm(author, phone, code).expect(400);
    expect(right.body.message).toMatch(/request a new one/);
    expect(await profile(author)).toMatchObject({ phone: null, phone_verified: false });
  });

  it('counts parallel guesses too: of six at once, the code dies all the same', async () => {
    const author = await registerAuthor(t);
    const phone = newPhone();
    const code = await requestCode(author, phone);
    const wrong = otherThan(code);

    const answers = await Promise.all(
      Array.from({ length: 6 }, () => confirm(author, phone, wrong)),
    );
    expect(answers.map((res) => res.status)).toEqual([400, 400, 400, 400, 400, 400]);
    const messages = answers.map((res) => res.body.message as string);
    expect(messages).toContain('Too many wrong codes; request a new one');
    // A guess that read the code just before the 5th try killed it may still be judged "wrong".
    expect(messages.filter((message) => message === 'Wrong code').length).toBeLessThanOrEqual(5);

    await confirm(author, phone, code).expect(400);
  });

  it('binds the code to the phone number it was sent to', async () => {
    const author = await registerAuthor(t);
    const phone = newPhone();
    const code = await requestCode(author, phone);

    await confirm(author, newPhone(), code).expect(400);
    expect(await profile(author)).toMatchObject({ phone: null, phone_verified: false });

    await confirm(author, phone, code).expect(200);
    expect(await profile(author)).toMatchObject({ phone, phone_verified: true });
  });

  it('binds the code to the author who asked: another author cannot use it', async () => {
    const owner = await registerAuthor(t);
    const attacker = await registerAuthor(t);
    const phone = newPhone();
    const code = await requestCode(owner, phone);

    await confirm(attacker, phone, code).expect(400);
    expect(await profile(attacker)).toMatchObject({ phone: null, phone_verified: false });
    // The attacker's try did not touch the owner's code.
    await confirm(owner, phone, code).expect(200);
  });

  it('a new request replaces the previous code', async () => {
    const author = await registerAuthor(t);
    const phone = newPhone();
    const first = await requestCode(author, phone);
    let second = await requestCode(author, phone);
    // One chance in a million that the two codes match; ask again rather than assert on it.
    while (second === first) second = await requestCode(author, phone);

    const stale = await confirm(author, phone, first).expect(400);
    expect(stale.body.message).toBe('Wrong code');
    await confirm(author, phone, second).expect(200);
  });

  it('stores only a hash of the code, for at most 10 minutes', async () => {
    const author = await registerAuthor(t);
    const phone = newPhone();
    const code = await requestCode(author, phone);

    const key = `phone_code:${author.authorId}`;
    const stored = await store.get(key);
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    expect(stored).not.toContain(code);
    const ttl = await store.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(TEN_MINUTES_MS);

    // What expiry looks like to the author: the key is gone, and so is the code.
    await store.del(key);
    const expired = await confirm(author, phone, code).expect(400);
    expect(expired.body.message).toMatch(/^No pending code/);
    expect(await profile(author)).toMatchObject({ phone: null, phone_verified: false });
  });

  it('refuses a malformed phone number or code with 400, before any SMS', async () => {
    const author = await registerAuthor(t);
    const before = sent.mock.calls.length;
    for (const phone of ['5551234567', '+0551234567', '+1 555 123 4567', '+1555123456789012']) {
      await request(author, phone).expect(400);
    }
    expect(sent.mock.calls.length).toBe(before);

    const phone = newPhone();
    await requestCode(author, phone);
    for (const code of ['12345', '1234567', 'abcdef', '']) {
      await confirm(author, phone, code).expect(400);
    }
  });

  it('needs a session', async () => {
    const before = sent.mock.calls.length;
    await t.http().post('/auth/phone/request').send({ phone: newPhone() }).expect(401);
    await t
      .http()
      .post('/auth/phone/confirm')
      .send({ phone: newPhone(), code: '123456' })
      .expect(401);
    expect(sent.mock.calls.length).toBe(before);
  });
});
