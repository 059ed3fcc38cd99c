import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { newRegistration, registerAuthor } from '../support/auth';
import { startTestApp, type TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/** Asserts the 429 answer of SPEC section 3 and returns its Retry-After in seconds. */
function expectTooMany(res: Response): number {
  expect(res.status).toBe(429);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toEqual({
    statusCode: 429,
    message: expect.stringMatching(/^Too many requests/),
    error: 'Too Many Requests',
  });
  const retryAfter = res.headers['retry-after'] as string | undefined;
  expect(retryAfter).toMatch(/^[1-9]\d*$/);
  return Number(retryAfter);
}

const loginBody = (email: string, password: string) => ({ email, password, mode: 'bearer' });
const wrongPassword = 'definitely-not-the-password';

describe('rate limit: login per email, 2-second window', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_LOGIN_EMAIL: '5/2' });
  });
  afterAll(() => t.close());

  it('blocks the 6th try with 429 and Retry-After, and lets the author in after the window', async () => {
    const author = await registerAuthor(t);
    const other = await registerAuthor(t);
    const login = (email: string, password: string) =>
      t.http().post('/auth/login').send(loginBody(email, password));

    for (let attempt = 1; attempt <= 5; attempt++) {
      await login(author.email, wrongPassword).expect(401);
    }
    const blocked = await login(author.email, wrongPassword);
    const retryAfter = expectTooMany(blocked);
    expect(retryAfter).toBeLessThanOrEqual(2);

    // The limit is the email's, not everyone's.
    await login(other.email, other.password).expect(200);

    const res = await waitFor(
      async () => {
        const attempt = await login(author.email, author.password);
        return attempt.status === 200 ? attempt : null;
      },
      { timeoutMs: 6_000, intervalMs: 250, message: 'login allowed again after the window' },
    );
    expect(res!.body.author.id).toBe(author.authorId);
  });
});

describe('rate limit: login per email, while blocked', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Behind a trusted proxy X-Forwarded-For is the client address, so one test can play many IPs.
    t = await startTestApp({ RATE_LIMIT_LOGIN_EMAIL: '3/60', TRUST_PROXY: 'loopback' });
  });
  afterAll(() => t.close());

  const login = (email: string, password: string) =>
    t.http().post('/auth/login').send(loginBody(email, password));

  const graphqlLogin = (email: string, password: string) =>
    t
      .http()
      .post('/graphql')
      .send({
        query: 'mutation ($input: LoginInput!) { login(input: $input) { token } }',
        variables: { input: loginBody(email, password) },
      })
      .expect(200);

  it('refuses even the right password, in any letter case, over REST and GraphQL alike', async () => {
    const author = await registerAuthor(t);
    const other = await registerAuthor(t);
    for (let attempt = 1; attempt <= 3; attempt++) {
      await login(author.email, wrongPassword).expect(401);
    }

    const retryAfter = expectTooMany(await login(author.email, author.password));
    // Blocked for a whole window from the moment the limit was passed.
    expect(retryAfter).toBeGreaterThan(50);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expectTooMany(await login(author.email.toUpperCase(), author.password));

    const viaGraphql = await graphqlLogin(author.email, author.password);
    expect(viaGraphql.body.data?.login ?? null).toBeNull();
    expect(viaGraphql.body.errors[0].extensions.code).toBe('TOO_MANY_REQUESTS');
    expect(viaGraphql.body.errors[0].message).toMatch(/^Too many requests/);

    await login(other.email, other.password).expect(200);
  });

  it('counts one email across every IP it is tried from', async () => {
    const author = await registerAuthor(t);
    const witness = await registerAuthor(t);
    // The app does see the forwarded address, so the tries below do come from three IPs.
    const seen = await login(witness.email, witness.password)
      .set('X-Forwarded-For', '203.0.113.9')
      .expect(200);
    expect(seen.body.session.ip).toBe('203.0.113.9');

    for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
      await login(author.email, wrongPassword).set('X-Forwarded-For', ip).expect(401);
    }
    expectTooMany(await login(author.email, author.password).set('X-Forwarded-For', '203.0.113.4'));
  });

  it('counts GraphQL tries toward the same limit as REST', async () => {
    const author = await registerAuthor(t);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const res = await graphqlLogin(author.email, wrongPassword);
      expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
    expectTooMany(await login(author.email, author.password));
  });
});

describe('rate limit: per IP and forgot-password per email', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      RATE_LIMIT_LOGIN_IP: '3/60',
      RATE_LIMIT_REGISTER_IP: '2/60',
      RATE_LIMIT_FORGOT_EMAIL: '2/60',
    });
  });
  afterAll(() => t.close());

  it('blocks the 4th login from one IP, whatever the emails', async () => {
    const emails = Array.from({ length: 4 }, () => newRegistration().email);
    for (const email of emails.slice(0, 3)) {
      await t.http().post('/auth/login').send(loginBody(email, wrongPassword)).expect(401);
    }
    const retryAfter = expectTooMany(
      await t.http().post('/auth/login').send(loginBody(emails[3], wrongPassword)),
    );
    expect(retryAfter).toBeLessThanOrEqual(60);

    // Without TRUST_PROXY a forged X-Forwarded-For is not a new address.
    expectTooMany(
      await t
        .http()
        .post('/auth/login')
        .set('X-Forwarded-For', '198.51.100.77')
        .send(loginBody(newRegistration().email, wrongPassword)),
    );
  });

  it('blocks the 3rd sign-up from one IP before any account is made', async () => {
    await registerAuthor(t);
    await registerAuthor(t);
    const third = newRegistration();
    expectTooMany(await t.http().post('/auth/register').send(third));

    const rows: unknown[] = await t.app
      .get(DataSource)
      .query('SELECT id FROM author WHERE lower(email) = lower($1)', [third.email]);
    expect(rows).toEqual([]);
  });

  it('blocks the 3rd forgot-password for one email, counting any letter case as the same', async () => {
    const email = newRegistration().email;
    const forgot = (address: string) =>
      t.http().post('/auth/password/forgot').send({ email: address });
    await forgot(email).expect(202);
    await forgot(email.toUpperCase()).expect(202);
    expectTooMany(await forgot(email));
    expectTooMany(await forgot(email[0].toUpperCase() + email.slice(1)));

    await forgot(newRegistration().email).expect(202);
  });
});
