import { randomInt } from 'node:crypto';
import { jest } from '@jest/globals';
import { DataSource } from 'typeorm';
import { MailService } from '../../src/infra/mail/mail.service';
import { SmsSender } from '../../src/infra/sms/sms.service';
import { newRegistration } from '../support/auth';
import { startTestApp, type TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

const USER_AGENT = 'audit-test/1.0';
// supertest connects to the app's listening address.
const CLIENT_IP = '127.0.0.1';

interface AuditRow {
  id: string;
  author_id: number | null;
  type: string;
  ip: string | null;
  user_agent: string | null;
  data: Record<string, unknown>;
  created_at: string;
}

interface Account {
  id: number;
  email: string;
  password: string;
  token: string;
}

describe('audit log', () => {
  let t: TestApp;
  let db: DataSource;
  let mails: jest.SpiedFunction<MailService['send']>;
  let sms: jest.SpiedFunction<SmsSender['send']>;

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
    mails = jest.spyOn(t.app.get(MailService), 'send');
    sms = jest.spyOn(t.app.get(SmsSender), 'send');
  });
  afterAll(async () => {
    mails.mockRestore();
    sms.mockRestore();
    await t.close();
  });

  /** Every request a browser of ours would send: with our User-Agent. */
  const api = {
    get: (path: string, token?: string) => withClient(t.http().get(path), token),
    post: (path: string, token?: string) => withClient(t.http().post(path), token),
    delete: (path: string, token?: string) => withClient(t.http().delete(path), token),
  };
  function withClient<R extends { set(field: string, value: string): R }>(req: R, token?: string) {
    const withAgent = req.set('User-Agent', USER_AGENT);
    return token ? withAgent.set('Authorization', `Bearer ${token}`) : withAgent;
  }

  async function register(): Promise<Account> {
    const registration = newRegistration();
    const res = await api
      .post('/auth/register')
      .send({ ...registration, mode: 'bearer' })
      .expect(201);
    return { ...registration, id: res.body.author.id, token: res.body.token };
  }

  async function loginAs(account: Account, password = account.password): Promise<string> {
    const res = await api
      .post('/auth/login')
      .send({ email: account.email, password, mode: 'bearer' })
      .expect(200);
    return res.body.token;
  }

  const eventsOf = (authorId: number, type?: string): Promise<AuditRow[]> =>
    db.query(
      `SELECT * FROM audit_event WHERE author_id = $1 AND ($2::text IS NULL OR type = $2) ORDER BY id`,
      [authorId, type ?? null],
    );

  /** Rows of a query once there are any (some events are written in the background). */
  async function rowsOnceThere(sql: string, params: unknown[]): Promise<AuditRow[]> {
    const rows = await waitFor(
      async () => {
        const found: AuditRow[] = await db.query(sql, params);
        return found.length > 0 ? found : null;
      },
      { message: `rows for ${JSON.stringify(params)}` },
    );
    return rows!;
  }

  /** The one event of that type for the author. */
  async function theEvent(authorId: number, type: string): Promise<AuditRow> {
    const rows = await rowsOnceThere(
      `SELECT * FROM audit_event WHERE author_id = $1 AND type = $2 ORDER BY id`,
      [authorId, type],
    );
    expect(rows).toHaveLength(1);
    return rows[0];
  }

  /** Who did it and from where, and nothing secret in it. */
  function expectWellFormed(row: AuditRow, secrets: string[]): void {
    expect(row.ip).toBe(CLIENT_IP);
    expect(row.user_agent).toBe(USER_AGENT);
    expect(Math.abs(Number(row.created_at) - Date.now() / 1000)).toBeLessThan(60);
    const data = JSON.stringify(row.data);
    for (const secret of secrets) expect(data).not.toContain(secret);
    // Nor a password hash.
    expect(data).not.toMatch(/\$2[aby]?\$/);
  }

  /** The token of the last link to `${FRONTEND_URL}/<path>` mailed to `email`. */
  const mailedToken = async (email: string, path: string): Promise<string> =>
    (await waitFor(
      () => {
        const texts = mails.mock.calls
          .filter(([mail]) => mail.to === email)
          .map(([mail]) => mail.text);
        const links = texts.flatMap((text) => [
          ...text.matchAll(new RegExp(`/${path}\\?token=([A-Za-z0-9_-]+)`, 'g')),
        ]);
        return links.at(-1)?.[1];
      },
      { message: `${path} mail to ${email}` },
    ))!;

  it('records register', async () => {
    const account = await register();
    const rows = await eventsOf(account.id);
    expect(rows.map((row) => row.type)).toEqual(['register']);
    expectWellFormed(rows[0], [account.password, account.token]);
  });

  it('records login_success and login_failure, with the author when the email is known', async () => {
    const account = await register();
    const token = await loginAs(account);
    expectWellFormed(await theEvent(account.id, 'login_success'), [account.password, token]);

    const wrong = 'wrong-password-123';
    await api.post('/auth/login').send({ email: account.email, password: wrong }).expect(401);
    const failure = await theEvent(account.id, 'login_failure');
    expect(failure.author_id).toBe(account.id);
    expectWellFormed(failure, [wrong, account.password]);

    const unknown = newRegistration();
    await api
      .post('/auth/login')
      .send({ email: unknown.email, password: unknown.password })
      .expect(401);
    const rows: AuditRow[] = await db.query(
      `SELECT * FROM audit_event WHERE type = 'login_failure' AND data->>'email' = $1`,
      [unknown.email],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].author_id).toBeNull();
    expectWellFormed(rows[0], [unknown.password]);
  });

  it('records logout of the current session', async () => {
    const account = await register();
    const token = await loginAs(account);
    await api.post('/auth/logout', token).expect(204);
    const row = await theEvent(account.id, 'logout');
    expectWellFormed(row, [account.password, token, account.token]);
    // A second logout with the dead token is no new event.
    await api.post('/auth/logout', token).expect(204);
    expect(await eventsOf(account.id, 'logout')).toHaveLength(1);
  });

  it('records session_revoked for one session and for all others', async () => {
    const account = await register();
    const other = await loginAs(account);
    const sessions = await api.get('/auth/sessions', account.token).expect(200);
    const otherId = sessions.body.find((session: { current: boolean }) => !session.current).id;

    await api.delete(`/auth/sessions/${otherId}`, account.token).expect(204);
    let rows = await eventsOf(account.id, 'session_revoked');
    expect(rows).toHaveLength(1);
    expect(rows[0].data.session_id).toBe(otherId);
    expectWellFormed(rows[0], [account.token, other]);

    const third = await loginAs(account);
    await api.delete('/auth/sessions', account.token).expect(204);
    rows = await eventsOf(account.id, 'session_revoked');
    expect(rows).toHaveLength(2);
    expectWellFormed(rows[1], [account.token, third]);
  });

  it('records password_changed', async () => {
    const account = await register();
    const newPassword = `${account.password}-changed`;
    await api
      .post('/auth/change-password', account.token)
      .send({ old_password: account.password, new_password: newPassword })
      .expect(204);
    expectWellFormed(await theEvent(account.id, 'password_changed'), [
      account.password,
      newPassword,
      account.token,
    ]);
  });

  it('records password_reset_requested and password_reset', async () => {
    const account = await register();
    await api.post('/auth/password/forgot').send({ email: account.email }).expect(202);
    const token = await mailedToken(account.email, 'reset-password');
    expectWellFormed(await theEvent(account.id, 'password_reset_requested'), [token]);

    const newPassword = `${account.password}-reset`;
    await api.post('/auth/password/reset').send({ token, new_password: newPassword }).expect(204);
    expectWellFormed(await theEvent(account.id, 'password_reset'), [
      token,
      newPassword,
      account.password,
    ]);
  });

  it('records password_reset_requested for an unknown email, without an author', async () => {
    const unknown = newRegistration().email;
    await api.post('/auth/password/forgot').send({ email: unknown }).expect(202);
    const rows = await rowsOnceThere(
      `SELECT * FROM audit_event WHERE type = 'password_reset_requested' AND data->>'email' = $1`,
      [unknown],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].author_id).toBeNull();
    expectWellFormed(rows[0], []);
  });

  it('records email_verified', async () => {
    const account = await register();
    const token = await mailedToken(account.email, 'verify-email');
    await api.post('/auth/verify-email/confirm').send({ token }).expect(200);
    expectWellFormed(await theEvent(account.id, 'email_verified'), [token]);
  });

  it('records phone_verified, without the code', async () => {
    const account = await register();
    const phone = `+1555${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
    await api.post('/auth/phone/request', account.token).send({ phone }).expect(202);
    const text = sms.mock.calls.filter(([to]) => to === phone).at(-1)?.[1];
    const code = /\b(\d{6})\b/.exec(text ?? '')?.[1];
    expect(code).toBeDefined();

    await api.post('/auth/phone/confirm', account.token).send({ phone, code }).expect(200);
    const row = await theEvent(account.id, 'phone_verified');
    expect(row.data.phone).toBe(phone);
    expectWellFormed(row, [code!, account.token]);
  });

  it('records oauth_unlinked', async () => {
    const account = await register();
    await db.query(
      `INSERT INTO oauth_account (author_id, provider, provider_id, provider_email, created_at)
       VALUES ($1, 'github', $2, $3, $4)`,
      [account.id, `gh-${account.id}`, account.email, Math.floor(Date.now() / 1000)],
    );
    await api.delete('/auth/accounts/github', account.token).expect(204);
    const row = await theEvent(account.id, 'oauth_unlinked');
    expect(row.data.provider).toBe('github');
    expectWellFormed(row, [account.token]);
  });
});
