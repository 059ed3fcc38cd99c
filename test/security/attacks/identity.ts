import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { newRegistration, registerAuthor, type SignedIn } from '../../support/auth';
import { dataOf } from '../../support/graphql';
import type { TestApp } from '../../support/test-app';
import { waitFor } from '../../support/wait-for';
import type { Attack, AttackContext } from '../attack';

// Identity: email spellings against the limits, password guessing, floods. The rows share one app
// with the shipped limits for what they attack; sign-up and the per-IP login limit stay generous,
// since every row signs its victims up from 127.0.0.1.

let limitedApp: Promise<TestApp> | undefined;
const limited = (ctx: AttackContext) =>
  (limitedApp ??= ctx.boot({
    // X-Forwarded-For from loopback is the client address, so a row can speak from several IPs.
    TRUST_PROXY: 'loopback',
    RATE_LIMIT_LOGIN_EMAIL_IP: '5/60',
    RATE_LIMIT_LOGIN_EMAIL: '100/3600',
    RATE_LIMIT_FORGOT_EMAIL: '3/3600',
    RATE_LIMIT_CHANGE_PASSWORD_SESSION: '5/900',
    RATE_LIMIT_FOLLOW_AUTHOR: '30/60',
    RATE_LIMIT_SHOUT_AUTHOR: '10/60',
  }));

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const wrong = (i: number) => `not-the-password-${i}`;

function login(t: TestApp, email: string, password: string, ip: string) {
  return t
    .http()
    .post('/auth/login')
    .set('X-Forwarded-For', ip)
    .send({ email, password, mode: 'bearer' });
}

function graphql(t: TestApp, token: string, query: string, variables: object = {}) {
  return t.http().post('/graphql').set(bearer(token)).send({ query, variables }).expect(200);
}

function expectTooMany(res: Response): void {
  expect(res.status).toBe(429);
  expect(res.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
}

/** One request of aliased mutations, run in order until one was refused: that field's name. */
function refusedField(res: Response): string {
  expect(res.body.data).toBeNull();
  expect(res.body.errors).toHaveLength(1);
  expect(res.body.errors[0].extensions.code).toBe('TOO_MANY_REQUESTS');
  return res.body.errors[0].path[0];
}

async function auditCount(t: TestApp, authorId: number, type: string): Promise<number> {
  const [{ count }]: { count: number }[] = await t.app
    .get(DataSource)
    .query(`SELECT count(*)::int AS count FROM audit_event WHERE author_id = $1 AND type = $2`, [
      authorId,
      type,
    ]);
  return count;
}

async function sessionIds(t: TestApp, token: string): Promise<string[]> {
  const res = await t.http().get('/auth/sessions').set(bearer(token)).expect(200);
  return res.body.map((session: { id: string }) => session.id).sort();
}

/** A victim whose address has letters Unicode maps specially: k and i (case), ñ (composition). */
async function victimOf(t: TestApp): Promise<SignedIn> {
  const registration = newRegistration();
  return registerAuthor(t, 'bearer', { email: `kit-\u00f1-${registration.email}` });
}

/** Spellings an attacker tries. `same`: they are the victim's address once normalized. */
const spellings = (email: string) => ({
  same: [
    email.toUpperCase(),
    email.replace('k', '\u212A'), // Kelvin sign
    `  ${email}\t`,
    email.replace('\u00f1', 'n\u0303'), // ñ decomposed
    email.replace('kit', 'KIT'),
  ],
  others: [
    email.replace('i', '\u0130'), // İ: "i̇" in JavaScript, "i" to Postgres lower()
    email.replace('i', '\u0131'), // dotless ı
    email.replace('k', '\uFF2B'), // fullwidth K
    email.replace('e', '\uFF45'), // fullwidth e
    email.replace('.test', '.te\u017Ft'), // long s
  ],
});

export const attacks: Attack[] = [
  {
    name: 'guess a password through İ, Kelvin-sign, fullwidth and case spellings of the victim’s email, to dodge the per-email limit',
    status: 'fixed',
    run: async (ctx) => {
      const t = await limited(ctx);
      const victim = await victimOf(t);
      const { same, others } = spellings(victim.email);
      const ip = '203.0.113.50';

      const answers: Response[] = [];
      for (let i = 0; i < 35; i++) {
        const email = [...same, ...others][i % (same.length + others.length)];
        answers.push(await login(t, email, wrong(i), ip));
      }
      // Look-alikes are other addresses (401, no account); the victim's own spellings are one
      // address, whose passwords were checked 5 times before it answered 429.
      const sameAnswers = answers.filter((_, i) => i % 10 < same.length);
      expect(sameAnswers.slice(0, 5).map((res) => res.status)).toEqual(Array(5).fill(401));
      for (const res of sameAnswers.slice(5)) expectTooMany(res);
      for (const res of answers.filter((_, i) => i % 10 >= same.length)) {
        expect(res.status).toBe(401);
      }
      expect(await auditCount(t, victim.authorId, 'login_failure')).toBe(5);

      // Even the right password waits now, through any spelling, from that IP.
      for (const email of [victim.email, ...same]) {
        expectTooMany(await login(t, email, victim.password, ip));
      }
      expect(await auditCount(t, victim.authorId, 'login_success')).toBe(0);
    },
  },
  {
    name: 'sign in as the victim through an İ or fullwidth spelling of their email, with their password',
    status: 'fixed',
    run: async (ctx) => {
      const t = await limited(ctx);
      const victim = await victimOf(t);
      const before = await sessionIds(t, victim.token!);

      for (const [i, email] of spellings(victim.email).others.entries()) {
        const res = await login(t, email, victim.password, `198.51.100.${60 + i}`);
        expect(res.status).toBe(401);
        expect(res.body.token).toBeUndefined();
      }
      expect(await sessionIds(t, victim.token!)).toEqual(before);
      expect(await auditCount(t, victim.authorId, 'login_success')).toBe(0);
      // A spelling that is the victim's address once normalized is the victim's (and counted so).
      const own = await login(
        t,
        victim.email.replace('k', '\u212A'),
        victim.password,
        '198.51.100.70',
      );
      expect(own.status).toBe(200);
      expect(own.body.author.id).toBe(victim.authorId);
    },
  },
  {
    name: 'flood the victim with reset mails through spellings of their email (24 requests)',
    status: 'fixed',
    run: async (ctx) => {
      const t = await limited(ctx);
      const victim = await victimOf(t);
      const { same, others } = spellings(victim.email);
      const addresses = [victim.email, ...same];

      const answers: Response[] = [];
      for (let i = 0; i < 24; i++) {
        answers.push(
          await t
            .http()
            .post('/auth/password/forgot')
            .set('X-Forwarded-For', `192.0.2.${i + 1}`)
            .send({ email: addresses[i % addresses.length] }),
        );
      }
      expect(answers.slice(0, 3).map((res) => res.status)).toEqual([202, 202, 202]);
      for (const res of answers.slice(3)) expectTooMany(res);
      for (const email of others) {
        await t.http().post('/auth/password/forgot').send({ email }).expect(202);
      }

      // One reset request recorded (and one mail sent) per 202 for the victim's address: 3.
      await waitFor(
        async () => (await auditCount(t, victim.authorId, 'password_reset_requested')) >= 3,
        { message: 'the accepted reset requests' },
      );
      expect(await auditCount(t, victim.authorId, 'password_reset_requested')).toBe(3);
      expect((await login(t, victim.email, victim.password, '198.51.100.80')).body.author.id).toBe(
        victim.authorId,
      );
    },
  },
  {
    name: 'guess old_password on change-password, over REST and GraphQL, from a stolen session',
    status: 'fixed',
    run: async (ctx) => {
      const t = await limited(ctx);
      const victim = await victimOf(t);
      const stolen = victim.token!;
      const change = (old: string) =>
        t
          .http()
          .post('/auth/change-password')
          .set(bearer(stolen))
          .send({ old_password: old, new_password: 'attacker-chosen-password' });
      const CHANGE = 'mutation ($input: ChangePasswordInput!) { changePassword(input: $input) }';

      for (let i = 0; i < 3; i++) await change(wrong(i)).expect(403);
      for (let i = 3; i < 5; i++) {
        const res = await graphql(t, stolen, CHANGE, {
          input: { oldPassword: wrong(i), newPassword: 'attacker-chosen-password' },
        });
        expect(res.body.errors[0].extensions.code).toBe('FORBIDDEN');
      }
      // 40 guesses in all: the 6th on is refused before any password is checked, the right one too.
      for (let i = 5; i < 40; i++) expectTooMany(await change(wrong(i)));
      expectTooMany(await change(victim.password));
      const viaGraphql = await graphql(t, stolen, CHANGE, {
        input: { oldPassword: victim.password, newPassword: 'attacker-chosen-password' },
      });
      expect(viaGraphql.body.errors[0].extensions.code).toBe('TOO_MANY_REQUESTS');

      expect(await auditCount(t, victim.authorId, 'password_changed')).toBe(0);
      expect((await login(t, victim.email, victim.password, '198.51.100.90')).status).toBe(200);
      expect(
        (await login(t, victim.email, 'attacker-chosen-password', '198.51.100.90')).status,
      ).toBe(401);
    },
  },
  {
    name: 'flood a victim with notifications: 100 aliased follow/unfollow pairs in one GraphQL request',
    status: 'fixed',
    run: async (ctx) => {
      const t = await limited(ctx);
      const attacker = await registerAuthor(t, 'bearer');
      const victim = await registerAuthor(t, 'bearer');
      const unseen = async () =>
        dataOf(await graphql(t, victim.token!, 'query { unseenNotificationsCount }'))
          .unseenNotificationsCount as number;
      const pairs = Array.from(
        { length: 100 },
        (_, i) =>
          `f${i}: follow(authorId: ${victim.authorId}) u${i}: unfollow(authorId: ${victim.authorId})`,
      );

      const flood = await graphql(t, attacker.token!, `mutation { ${pairs.join(' ')} }`);
      // Each aliased field counts: 30 ran, the 31st was refused and ended the request.
      expect(refusedField(flood)).toBe('f15');
      const again = await graphql(t, attacker.token!, `mutation { ${pairs.join(' ')} }`);
      expect(refusedField(again)).toBe('f0');

      await waitFor(async () => (await unseen()) >= 30, { message: 'the 30 notifications' });
      expect(await unseen()).toBe(30);
      const followers = dataOf(
        await graphql(
          t,
          victim.token!,
          `query { followers(authorId: ${victim.authorId}) { nodes { id } } }`,
        ),
      ).followers.nodes;
      expect(followers).toEqual([]);
    },
  },
  {
    name: 'flood shouts: 100 aliased createShout in one GraphQL request',
    status: 'fixed',
    run: async (ctx) => {
      const t = await limited(ctx);
      const attacker = await registerAuthor(t, 'bearer');
      const fields = Array.from(
        { length: 100 },
        (_, i) => `s${i}: createShout(input: { title: "flood ${i}", body: "flood" }) { id }`,
      );

      const flood = await graphql(t, attacker.token!, `mutation { ${fields.join(' ')} }`);
      expect(refusedField(flood)).toBe('s10');

      const stored: number = (
        await t.app
          .get(DataSource)
          .query('SELECT count(*)::int AS count FROM shout WHERE author_id = $1', [
            attacker.authorId,
          ])
      )[0].count;
      expect(stored).toBe(10);
    },
  },
  {
    name: 'lock the owner out: 50 wrong passwords for their email from one IP',
    status: 'fixed',
    run: async (ctx) => {
      const t = await limited(ctx);
      const owner = await registerAuthor(t, 'bearer');
      const attackerIp = '203.0.113.66';

      const answers: Response[] = [];
      for (let i = 0; i < 50; i++) answers.push(await login(t, owner.email, wrong(i), attackerIp));
      expect(answers.slice(0, 5).map((res) => res.status)).toEqual(Array(5).fill(401));
      for (const res of answers.slice(5)) expectTooMany(res);
      expect(await auditCount(t, owner.authorId, 'login_failure')).toBe(5);

      // The owner, from their own address, signs in as always.
      const own = await login(t, owner.email, owner.password, '198.51.100.66');
      expect(own.status).toBe(200);
      expect(own.body.author.id).toBe(owner.authorId);
      expectTooMany(await login(t, owner.email, owner.password, attackerIp));
    },
  },
];
