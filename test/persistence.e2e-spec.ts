import { DataSource } from 'typeorm';
import { Author } from '../src/infra/database/tables/author.entity';
import { AuthorRepository } from '../src/infra/database/tables/author.repository';
import { newRegistration } from './support/auth';
import { newAuthor } from './support/factories';
import { startTestApp, type TestApp } from './support/test-app';

describe('database', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('seeds the roles and permissions of the README (Roles and permissions)', async () => {
    const rows: { role_id: string; permissions: string }[] = await t.app.get(DataSource).query(
      `SELECT role_id, string_agg(permission_id, ',' ORDER BY permission_id) AS permissions
         FROM role_permission GROUP BY role_id ORDER BY role_id`,
    );
    expect(rows).toEqual([
      { role_id: 'admin', permissions: 'admin,moderate,read,write' },
      { role_id: 'moderator', permissions: 'moderate,read,write' },
      { role_id: 'user', permissions: 'read,write' },
    ]);
  });

  it('has a schema from migrations that matches the entities exactly', async () => {
    const pending = await t.app.get(DataSource).driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('keeps emails unique as stored (normalized)', async () => {
    const authors = t.app.get(AuthorRepository);
    const first = newAuthor();
    await authors.create(first);
    await expect(authors.create(newAuthor({ email: first.email }))).rejects.toThrow(
      /author_email_unique/,
    );
    expect((await authors.findByEmail(first.email))?.email).toBe(first.email);
    // Exact equality: every input normalizes other spellings before they get here.
    expect(await authors.findByEmail(first.email.toUpperCase())).toBeNull();
  });

  it('reads an author by id exactly as TypeORM does: every field, its type, no password hash', async () => {
    const authors = t.app.get(AuthorRepository);
    const created = await authors.create({ ...newAuthor(), passwordHash: 'not-a-real-hash' });
    await authors.updateProfile(created.id, { bio: 'Writes about tiles.' });
    await authors.setVerifiedPhone(created.id, '+15550100');
    await authors.ban(created.id);

    const lean = await authors.findById(created.id);
    const typeorm = await t.app.get(DataSource).getRepository(Author).findOneBy({ id: created.id });
    expect(lean).toEqual(typeorm);
    expect(lean).toBeInstanceOf(Author);
    expect(lean?.passwordHash).toBeUndefined();
    expect(typeof lean?.bannedAt).toBe('number');
    expect(await authors.findById(created.id + 1_000_000)).toBeNull();
  });

  it('answers concurrent writes, each in its own transaction', async () => {
    // The embedded server multiplexes one PGlite session: several pool connections interleaved
    // their prepared statements there, and some of these requests failed or never answered.
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t
          .http()
          .post('/auth/register')
          .send({ ...newRegistration(), name: `Concurrent ${i}` })
          .then((res) => res.status),
      ),
    );
    expect(statuses).toEqual(Array(20).fill(201));
  });

  it('keeps written rows across a restart', async () => {
    const input = newAuthor();
    const created = await t.app.get(AuthorRepository).create(input);

    t = await t.restart();

    const found = await t.app.get(AuthorRepository).findById(created.id);
    expect(found).toMatchObject({ id: created.id, email: input.email, slug: input.slug });
    expect(found?.createdAt).toBe(created.createdAt);
  });
});
