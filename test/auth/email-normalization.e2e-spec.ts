import { randomBytes } from 'node:crypto';
import { DataSource, type QueryRunner } from 'typeorm';
import { NormalizedEmails1764300000000 } from '../../migrations/1764300000000-NormalizedEmails';
import { newRegistration, registerAuthor } from '../support/auth';
import { startTestApp, type TestApp } from '../support/test-app';

const unique = () => randomBytes(5).toString('hex');

describe('email normalization', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const profileEmail = async (token: string) =>
    (await t.http().get('/auth/profile').set('Authorization', `Bearer ${token}`).expect(200)).body
      .email;

  it('stores the normalized address and finds it by any spelling of it', async () => {
    const id = unique();
    const author = await registerAuthor(t, 'bearer', {
      email: `  Kate-Rene\u0301-${id}@Example.TEST `,
    });
    const stored = `kate-ren\u00e9-${id}@example.test`;
    expect(await profileEmail(author.token!)).toBe(stored);

    for (const spelling of [stored, `\u212Aate-REN\u00c9-${id}@example.test`]) {
      const res = await t
        .http()
        .post('/auth/login')
        .send({ email: spelling, password: author.password, mode: 'bearer' })
        .expect(200);
      expect(res.body.author.id).toBe(author.authorId);
    }
    await t
      .http()
      .post('/auth/register')
      .send({ ...newRegistration(), email: `KATE-RENE\u0301-${id}@EXAMPLE.TEST` })
      .expect(409);
  });

  it('refuses a lone surrogate with 400, not 500', async () => {
    for (const path of ['/auth/login', '/auth/register', '/auth/password/forgot']) {
      const res = await t
        .http()
        .post(path)
        .set('Content-Type', 'application/json')
        .send('{"email":"a@b\\ud800.example","password":"long-enough-password"}');
      expect(res.status).toBe(400);
      expect(res.body.message).toContain('email must be an email address');
    }
  });

  describe('the migration', () => {
    const migration = new NormalizedEmails1764300000000();
    let runner: QueryRunner;

    // Puts back the index the migration replaces, so rows can be stored as before it.
    beforeEach(async () => {
      runner = t.app.get(DataSource).createQueryRunner();
      await runner.query('DROP INDEX author_email_unique');
      await runner.query('CREATE UNIQUE INDEX author_email_lower_unique ON author (lower(email))');
    });
    afterEach(async () => {
      await runner.query('DROP INDEX IF EXISTS author_email_lower_unique');
      await runner.query('CREATE UNIQUE INDEX IF NOT EXISTS author_email_unique ON author (email)');
      await runner.release();
    });

    const insert = async (email: string): Promise<number> => {
      const [{ id }]: { id: number }[] = await runner.query(
        `INSERT INTO author (email, slug, created_at, updated_at) VALUES ($1, $2, 0, 0) RETURNING id`,
        [email, `migrated-${unique()}`],
      );
      return id;
    };
    const emailOf = async (id: number): Promise<string> =>
      (await runner.query('SELECT email FROM author WHERE id = $1', [id]))[0].email;
    const indexes = async (): Promise<string[]> =>
      (
        await runner.query(
          `SELECT indexname FROM pg_indexes WHERE tablename = 'author' AND indexname LIKE 'author_email%'`,
        )
      ).map((row: { indexname: string }) => row.indexname);

    const up = async () => {
      await runner.startTransaction();
      try {
        await migration.up(runner);
        await runner.commitTransaction();
      } catch (error) {
        await runner.rollbackTransaction();
        throw error;
      }
    };

    it('rewrites stored emails to the normalized form and indexes them as they are', async () => {
      const id = unique();
      const mixed = await insert(`  Ada-${id}@Example.TEST`);
      const decomposed = await insert(`rene\u0301-${id}@example.test`);
      const kelvin = await insert(`\u212Aate-${id}@example.test`);
      const dotted = await insert(`v\u0130ctim-${id}@example.test`);

      await up();

      expect(await emailOf(mixed)).toBe(`ada-${id}@example.test`);
      expect(await emailOf(decomposed)).toBe(`ren\u00e9-${id}@example.test`);
      expect(await emailOf(kelvin)).toBe(`kate-${id}@example.test`);
      expect(await emailOf(dotted)).toBe(`vi\u0307ctim-${id}@example.test`);
      expect(await indexes()).toEqual(['author_email_unique']);
      await expect(insert(`ada-${id}@example.test`)).rejects.toThrow(/author_email_unique/);
    });

    it('fails on two accounts that are one address once normalized, naming them and changing nothing', async () => {
      const id = unique();
      const composed = await insert(`ren\u00e9-${id}@example.test`);
      const decomposed = await insert(`Rene\u0301-${id}@example.test`);

      await expect(up()).rejects.toThrow(
        new RegExp(`same email once normalized .*\\b${composed} and ${decomposed}\\b`),
      );

      expect(await emailOf(composed)).toBe(`ren\u00e9-${id}@example.test`);
      expect(await emailOf(decomposed)).toBe(`Rene\u0301-${id}@example.test`);
      expect(await indexes()).toEqual(['author_email_lower_unique']);
      await runner.query('DELETE FROM author WHERE id = ANY($1)', [[composed, decomposed]]);
    });
  });
});
