import type { AddressObject } from 'mailparser';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { newRegistration, registerAuthor, type SignedIn } from '../support/auth';
import { dataOf, errorCode } from '../support/graphql';
import { SmtpListener } from '../support/smtp-listener';
import { startTestApp, type TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/** Asserts the 429 answer (Nest shape, Retry-After) and returns its Retry-After in seconds. */
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
const LOGIN = 'mutation ($input: LoginInput!) { login(input: $input) { author { id } token } }';

/** Logs in over REST, from `ip` when the app trusts X-Forwarded-For. */
const restLogin = (t: TestApp, email: string, password: string, ip?: string) => {
  const req = t.http().post('/auth/login');
  if (ip) req.set('X-Forwarded-For', ip);
  return req.send(loginBody(email, password));
};

const graphql = (
  t: TestApp,
  query: string,
  variables: object = {},
  token?: string,
  ip?: string,
) => {
  const req = t.http().post('/graphql');
  if (token) req.set('Authorization', `Bearer ${token}`);
  if (ip) req.set('X-Forwarded-For', ip);
  return req.send({ query, variables }).expect(200);
};

/** Passwords the server checked for this author: each wrong one is a `login_failure` row. */
async function failuresOf(t: TestApp, authorId: number): Promise<number> {
  const [{ count }]: { count: number }[] = await t.app
    .get(DataSource)
    .query(
      `SELECT count(*)::int AS count FROM audit_event WHERE author_id = $1 AND type = 'login_failure'`,
      [authorId],
    );
  return count;
}

/** An address with letters that Unicode treats specially: k and i (case mappings), ñ (composition). */
const victimRegistration = () => {
  const registration = newRegistration();
  return { ...registration, email: `kit-\u00f1-${registration.email}` };
};

/** Other spellings of `email` that normalize to it: letter case, Kelvin sign, spaces, a decomposed ñ. */
const sameAddressSpellings = (email: string): string[] => [
  email.toUpperCase(),
  email.replace('k', '\u212A'),
  `  ${email}\t`,
  email.replace('\u00f1', 'N\u0303'),
];

/** Look-alikes that are other addresses once normalized: dotted İ, fullwidth letters, long s. */
const otherAddressSpellings = (email: string): string[] => [
  email.replace('i', '\u0130'),
  email.replace('k', '\uFF2B'),
  email.replace('e', '\uFF45'),
  email.replace('.test', '.te\u017Ft'),
];

describe('rate limit: wrong passwords per email and IP, 2-second window', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_LOGIN_EMAIL_IP: '5/2' });
  });
  afterAll(() => t.close());

  it('blocks the 6th try with 429 and Retry-After, and lets the author in after the window', async () => {
    const author = await registerAuthor(t);
    const other = await registerAuthor(t);

    for (let attempt = 1; attempt <= 5; attempt++) {
      await restLogin(t, author.email, wrongPassword).expect(401);
    }
    const retryAfter = expectTooMany(await restLogin(t, author.email, wrongPassword));
    expect(retryAfter).toBeLessThanOrEqual(2);
    // Only the five were checked.
    expect(await failuresOf(t, author.authorId)).toBe(5);

    // The limit is the email's, not everyone's.
    await restLogin(t, other.email, other.password).expect(200);

    const res = await waitFor(
      async () => {
        const attempt = await restLogin(t, author.email, author.password);
        return attempt.status === 200 ? attempt : null;
      },
      { timeoutMs: 6_000, intervalMs: 250, message: 'login allowed again after the window' },
    );
    expect(res!.body.author.id).toBe(author.authorId);
  });

  it('starts the count again after the right password', async () => {
    const author = await registerAuthor(t);
    for (let attempt = 1; attempt <= 4; attempt++) {
      await restLogin(t, author.email, wrongPassword).expect(401);
    }
    await restLogin(t, author.email, author.password).expect(200);
    for (let attempt = 1; attempt <= 5; attempt++) {
      await restLogin(t, author.email, wrongPassword).expect(401);
    }
    expectTooMany(await restLogin(t, author.email, wrongPassword));
  });
});

describe('rate limit: someone guessing from one IP does not lock the owner out', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Behind a trusted proxy X-Forwarded-For is the client address, so one test can play many IPs.
    // The per-email ceiling is the shipped default.
    t = await startTestApp({
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_LOGIN_EMAIL_IP: '5/60',
      RATE_LIMIT_LOGIN_EMAIL: '100/3600',
    });
  });
  afterAll(() => t.close());

  it('stops 50 wrong passwords from IP A after 5, while the owner signs in from IP B', async () => {
    const owner = await registerAuthor(t);
    const answers: Response[] = [];
    for (let attempt = 1; attempt <= 50; attempt++) {
      answers.push(await restLogin(t, owner.email, `${wrongPassword}-${attempt}`, '203.0.113.10'));
    }
    expect(answers.map((res) => res.status)).toEqual([
      ...Array(5).fill(401),
      ...Array(45).fill(429),
    ]);
    for (const res of answers.slice(5)) {
      const retryAfter = expectTooMany(res);
      expect(retryAfter).toBeGreaterThan(50);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    expect(await failuresOf(t, owner.authorId)).toBe(5);

    // From A even the right password waits, over REST and GraphQL alike.
    expectTooMany(await restLogin(t, owner.email, owner.password, '203.0.113.10'));
    const viaGraphql = await graphql(
      t,
      LOGIN,
      { input: loginBody(owner.email, owner.password) },
      undefined,
      '203.0.113.10',
    );
    expect(errorCode(viaGraphql)).toBe('TOO_MANY_REQUESTS');
    expect(viaGraphql.body.data).toBeNull();
    expect(Number(viaGraphql.headers['retry-after'])).toBeGreaterThan(0);

    // The owner, elsewhere, is not affected.
    const signedIn = await restLogin(t, owner.email, owner.password, '198.51.100.20').expect(200);
    expect(signedIn.body.author.id).toBe(owner.authorId);
    expect(signedIn.body.session.ip).toBe('198.51.100.20');
    const viaGraphqlElsewhere = await graphql(
      t,
      LOGIN,
      { input: loginBody(owner.email, owner.password) },
      undefined,
      '198.51.100.21',
    );
    expect(dataOf(viaGraphqlElsewhere).login.author.id).toBe(owner.authorId);
  });

  it('counts GraphQL tries toward the same limit as REST', async () => {
    const author = await registerAuthor(t);
    const ip = '203.0.113.11';
    for (let attempt = 1; attempt <= 5; attempt++) {
      const res = await graphql(
        t,
        LOGIN,
        { input: loginBody(author.email, wrongPassword) },
        undefined,
        ip,
      );
      expect(errorCode(res)).toBe('UNAUTHENTICATED');
    }
    expectTooMany(await restLogin(t, author.email, author.password, ip));
  });

  it('counts every spelling of one address as that address, and no look-alike as it', async () => {
    const registration = victimRegistration();
    const res = await t
      .http()
      .post('/auth/register')
      .send({ ...registration, mode: 'bearer' })
      .expect(201);
    const victim = { ...registration, authorId: res.body.author.id as number };
    const same = sameAddressSpellings(victim.email);
    const lookAlikes = otherAddressSpellings(victim.email);

    // A spelling that normalizes to the address signs in as its owner; a look-alike does not.
    for (const [i, email] of same.entries()) {
      const signedIn = await restLogin(t, email, victim.password, `192.0.2.${i + 1}`).expect(200);
      expect(signedIn.body.author.id).toBe(victim.authorId);
      expect(signedIn.body.author.email).toBe(victim.email);
    }
    for (const [i, email] of lookAlikes.entries()) {
      await restLogin(t, email, victim.password, `192.0.2.${i + 101}`).expect(401);
    }
    expect(await failuresOf(t, victim.authorId)).toBe(0);

    // Wrong passwords through five spellings from one IP are five on the victim's counter.
    const ip = '203.0.113.12';
    for (const email of [victim.email, ...same]) {
      await restLogin(t, email, wrongPassword, ip).expect(401);
    }
    expect(await failuresOf(t, victim.authorId)).toBe(5);
    for (const email of [victim.email, ...same]) {
      expectTooMany(await restLogin(t, email, victim.password, ip));
    }
    expect(await failuresOf(t, victim.authorId)).toBe(5);
  });
});

describe('rate limit: the ceiling per email across every IP', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_LOGIN_EMAIL_IP: '3/60',
      RATE_LIMIT_LOGIN_EMAIL: '6/60',
    });
  });
  afterAll(() => t.close());

  it('does not count the tries refused per IP toward it', async () => {
    const owner = await registerAuthor(t);
    for (let attempt = 1; attempt <= 20; attempt++) {
      await restLogin(t, owner.email, wrongPassword, '203.0.113.20');
    }
    expect(await failuresOf(t, owner.authorId)).toBe(3);
    await restLogin(t, owner.email, owner.password, '198.51.100.30').expect(200);
  });

  it('refuses everyone once wrong passwords from many IPs reach it, other emails unaffected', async () => {
    const owner = await registerAuthor(t);
    const other = await registerAuthor(t);
    for (const ip of ['203.0.113.21', '203.0.113.22']) {
      for (let attempt = 1; attempt <= 3; attempt++) {
        await restLogin(t, owner.email, wrongPassword, ip).expect(401);
      }
    }
    const retryAfter = expectTooMany(
      await restLogin(t, owner.email, owner.password, '198.51.100.31'),
    );
    expect(retryAfter).toBeGreaterThan(50);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await failuresOf(t, owner.authorId)).toBe(6);
    await restLogin(t, other.email, other.password, '198.51.100.31').expect(200);
  });
});

describe('rate limit: per IP, sign-up per IP', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_LOGIN_IP: '3/60', RATE_LIMIT_REGISTER_IP: '2/60' });
  });
  afterAll(() => t.close());

  it('blocks the 4th login from one IP, whatever the emails', async () => {
    const emails = Array.from({ length: 4 }, () => newRegistration().email);
    for (const email of emails.slice(0, 3)) {
      await restLogin(t, email, wrongPassword).expect(401);
    }
    const retryAfter = expectTooMany(await restLogin(t, emails[3], wrongPassword));
    expect(retryAfter).toBeLessThanOrEqual(60);

    // Without TRUST_PROXY a forged X-Forwarded-For is not a new address.
    expectTooMany(await restLogin(t, newRegistration().email, wrongPassword, '198.51.100.77'));
  });

  it('blocks the 3rd sign-up from one IP before any account is made', async () => {
    await registerAuthor(t);
    await registerAuthor(t);
    const third = newRegistration();
    expectTooMany(await t.http().post('/auth/register').send(third));

    const rows: unknown[] = await t.app
      .get(DataSource)
      .query('SELECT id FROM author WHERE email = $1', [third.email]);
    expect(rows).toEqual([]);
  });
});

describe('rate limit: forgot-password per email, over real SMTP', () => {
  let listener: SmtpListener;
  let t: TestApp;

  beforeAll(async () => {
    listener = await new SmtpListener().start();
    t = await startTestApp({ SMTP_URL: listener.url, RATE_LIMIT_FORGOT_EMAIL: '3/3600' });
  });
  afterAll(async () => {
    await t.close();
    await listener.stop();
  });

  const forgot = (email: string) => t.http().post('/auth/password/forgot').send({ email });
  const resetMailsTo = (email: string) =>
    listener.messages.filter(
      (mail) =>
        mail.subject === 'Reset your password' &&
        [mail.to ?? []]
          .flat()
          .some((to: AddressObject) => to.value.some((address) => address.address === email)),
    );
  const requestsFor = async (authorId: number): Promise<number> => {
    const [{ count }]: { count: number }[] = await t.app.get(DataSource).query(
      `SELECT count(*)::int AS count FROM audit_event
          WHERE author_id = $1 AND type = 'password_reset_requested'`,
      [authorId],
    );
    return count;
  };

  it('sends at most 3 mails to one address, however it is spelled', async () => {
    const registration = victimRegistration();
    const res = await t
      .http()
      .post('/auth/register')
      .send({ ...registration, mode: 'bearer' })
      .expect(201);
    const victimId: number = res.body.author.id;
    const spellings = [registration.email, ...sameAddressSpellings(registration.email)];
    const lookAlikes = otherAddressSpellings(registration.email);

    const answers: Response[] = [];
    for (const email of [...spellings, ...spellings, ...lookAlikes])
      answers.push(await forgot(email));
    expect(answers.slice(0, 3).map((answer) => answer.status)).toEqual([202, 202, 202]);
    for (const answer of answers.slice(3, spellings.length * 2)) expectTooMany(answer);
    // A look-alike is another address, with a counter of its own and no account.
    expect(answers.slice(spellings.length * 2).map((answer) => answer.status)).toEqual(
      lookAlikes.map(() => 202),
    );

    await waitFor(async () => (await requestsFor(victimId)) === 3, {
      message: 'the three accepted requests handled',
    });
    await waitFor(() => resetMailsTo(registration.email).length === 3, {
      message: 'three reset mails',
    });
    expect(await requestsFor(victimId)).toBe(3);
    expect(resetMailsTo(registration.email)).toHaveLength(3);
    // Nothing went to a look-alike address either.
    expect(listener.messages.filter((mail) => mail.subject === 'Reset your password')).toHaveLength(
      3,
    );

    await forgot(newRegistration().email).expect(202);
  });
});

describe('rate limit: change-password per session', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_CHANGE_PASSWORD_SESSION: '5/900' });
  });
  afterAll(() => t.close());

  const CHANGE = `mutation ($input: ChangePasswordInput!) { changePassword(input: $input) }`;
  const changePassword = (token: string, oldPassword: string, newPassword: string) =>
    t
      .http()
      .post('/auth/change-password')
      .set('Authorization', `Bearer ${token}`)
      .send({ old_password: oldPassword, new_password: newPassword });

  it('refuses the 6th REST try in a session, even with the right password, and changes nothing', async () => {
    const author = await registerAuthor(t);
    for (let attempt = 1; attempt <= 5; attempt++) {
      await changePassword(author.token!, `${wrongPassword}-${attempt}`, 'a-new-password-1').expect(
        403,
      );
    }
    const retryAfter = expectTooMany(
      await changePassword(author.token!, author.password, 'a-new-password-1'),
    );
    expect(retryAfter).toBeGreaterThan(850);
    expect(retryAfter).toBeLessThanOrEqual(900);

    await restLogin(t, author.email, 'a-new-password-1').expect(401);
    const other = await restLogin(t, author.email, author.password).expect(200);
    // The limit is the session's: another session of the author may still change it.
    await changePassword(other.body.token, author.password, 'a-new-password-2').expect(204);
    await restLogin(t, author.email, 'a-new-password-2').expect(200);
  });

  it('counts GraphQL and REST tries of one session together', async () => {
    const author: SignedIn = await registerAuthor(t);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const res = await graphql(
        t,
        CHANGE,
        { input: { oldPassword: `${wrongPassword}-${attempt}`, newPassword: 'a-new-password-3' } },
        author.token,
      );
      expect(errorCode(res)).toBe('FORBIDDEN');
    }
    for (let attempt = 4; attempt <= 5; attempt++) {
      await changePassword(author.token!, `${wrongPassword}-${attempt}`, 'a-new-password-3').expect(
        403,
      );
    }
    const viaGraphql = await graphql(
      t,
      CHANGE,
      { input: { oldPassword: author.password, newPassword: 'a-new-password-3' } },
      author.token,
    );
    expect(errorCode(viaGraphql)).toBe('TOO_MANY_REQUESTS');
    expect(Number(viaGraphql.headers['retry-after'])).toBeGreaterThan(0);
    expectTooMany(await changePassword(author.token!, author.password, 'a-new-password-3'));
    await restLogin(t, author.email, author.password).expect(200);
  });
});

describe('rate limit: follows and shouts per author', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_FOLLOW_AUTHOR: '30/60', RATE_LIMIT_SHOUT_AUTHOR: '10/60' });
  });
  afterAll(() => t.close());

  const UNSEEN = 'query { unseenNotificationsCount }';
  const unseen = async (token: string): Promise<number> =>
    dataOf(await graphql(t, UNSEEN, {}, token)).unseenNotificationsCount;

  /** The one error of a request whose aliased mutations ran until one was refused. */
  function refusedAt(res: Response): string {
    // Mutation fields run one after another; a refused non-null field ends the request.
    expect(res.body.data).toBeNull();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].extensions.code).toBe('TOO_MANY_REQUESTS');
    expect(res.body.errors[0].message).toMatch(/^Too many requests/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    return res.body.errors[0].path[0];
  }

  it('counts each aliased follow and unfollow of one request, and notifies only those let through', async () => {
    const attacker = await registerAuthor(t);
    const victim = await registerAuthor(t);
    const pairs = Array.from(
      { length: 40 },
      (_, i) =>
        `f${i}: follow(authorId: ${victim.authorId}) u${i}: unfollow(authorId: ${victim.authorId})`,
    );
    const flood = await graphql(t, `mutation { ${pairs.join(' ')} }`, {}, attacker.token);
    // 30 fields ran (15 pairs); the 31st was refused.
    expect(refusedAt(flood)).toBe('f15');

    // 15 follows and 15 unfollows: 30 notifications, and no more.
    await waitFor(async () => (await unseen(victim.token!)) >= 30, {
      message: 'the notifications of the fields let through',
    });
    expect(await unseen(victim.token!)).toBe(30);
    const followers = dataOf(
      await graphql(t, `query { followers(authorId: ${victim.authorId}) { nodes { id } } }`),
    ).followers.nodes;
    expect(followers).toEqual([]);

    // The limit is the author's, whoever they follow, and a new request does not reset it.
    const third = await registerAuthor(t);
    const next = await graphql(
      t,
      `mutation { follow(authorId: ${third.authorId}) }`,
      {},
      attacker.token,
    );
    expect(refusedAt(next)).toBe('follow');
    expect(
      dataOf(await graphql(t, `query { followers(authorId: ${third.authorId}) { nodes { id } } }`))
        .followers.nodes,
    ).toEqual([]);
    expect(await unseen(third.token!)).toBe(0);
    expect(await unseen(victim.token!)).toBe(30);
  });

  it('creates 10 of 20 aliased shouts of one request', async () => {
    const author = await registerAuthor(t);
    const fields = Array.from(
      { length: 20 },
      (_, i) => `s${i}: createShout(input: { title: "flood ${i}", body: "flood" }) { id }`,
    );
    const flood = await graphql(t, `mutation { ${fields.join(' ')} }`, {}, author.token);
    expect(refusedAt(flood)).toBe('s10');

    const shouts = dataOf(
      await graphql(t, 'query { shouts(first: 100) { nodes { authorId title } } }'),
    ).shouts.nodes.filter((shout: { authorId: number }) => shout.authorId === author.authorId);
    expect(shouts.map((shout: { title: string }) => shout.title).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `flood ${i}`).sort(),
    );
  });
});
