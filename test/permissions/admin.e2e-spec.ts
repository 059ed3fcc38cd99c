import { randomBytes } from 'node:crypto';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request, { type Response } from 'supertest';
import { DataSource } from 'typeorm';
import { environmentOf } from '../support/cli';
import { createApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/load-config';
import { AdminBootstrapService } from '../../src/admin/admin-bootstrap.service';
import { PermissionsService } from '../../src/permissions/permissions.service';
import { login, newRegistration, registerAuthor, type SignedIn } from '../support/auth';
import { SERVICES, startTestApp, type TestApp } from '../support/test-app';
import { type Data, dataOf } from '../support/graphql';

const USER_AGENT = 'tessera-admin-e2e/1.0';
const ADMIN_FIELDS = 'id email name slug emailVerified roles bannedAt createdAt lastSeen';
const PAGE_INFO = 'pageInfo { endCursor hasNextPage }';

const ROLES = 'query { roles { id description permissions } }';
const AUTHORS = `query Authors($search: String, $role: String, $first: Int, $after: String) {
  authors(search: $search, role: $role, first: $first, after: $after) {
    nodes { ${ADMIN_FIELDS} } ${PAGE_INFO} } }`;
const ASSIGN_ROLE = `mutation Assign($authorId: Int!, $role: String!) {
  assignRole(authorId: $authorId, role: $role) { ${ADMIN_FIELDS} } }`;
const REMOVE_ROLE = `mutation Remove($authorId: Int!, $role: String!) {
  removeRole(authorId: $authorId, role: $role) { ${ADMIN_FIELDS} } }`;
const BAN = `mutation Ban($authorId: Int!, $reason: String) {
  banAuthor(authorId: $authorId, reason: $reason) { ${ADMIN_FIELDS} } }`;
const UNBAN = `mutation Unban($authorId: Int!) { unbanAuthor(authorId: $authorId) { ${ADMIN_FIELDS} } }`;
const REVOKE_SESSIONS = `mutation Revoke($authorId: Int!) { revokeAuthorSessions(authorId: $authorId) }`;
const AUDIT_LOG = `query Audit($authorId: Int, $type: String, $first: Int, $after: String) {
  auditLog(authorId: $authorId, type: $type, first: $first, after: $after) {
    nodes { id authorId type ip userAgent data createdAt } ${PAGE_INFO} } }`;
const TOKEN_STATS = `query { tokenStats { session verification oauthAccess oauthRefresh oauthState
  sseTicket storeUsedBytes storeMaxBytes } }`;
const ME = 'query { me { id name roles permissions emailVerified } }';
const CREATE_SHOUT = `mutation Create($input: CreateShoutInput!) {
  createShout(input: $input) { id authorId unpublishedAt } }`;
const UNPUBLISH_SHOUT = `mutation Unpublish($id: Int!, $reason: String!) {
  unpublishShout(id: $id, reason: $reason) { id unpublishedAt unpublishReason } }`;
const REGISTER = `mutation Register($input: RegisterInput!) {
  register(input: $input) { author { id roles } token } }`;
const UPDATE_PROFILE = `mutation Update($input: UpdateProfileInput!) {
  updateProfile(input: $input) { id name roles } }`;

/** No author has this id (the largest GraphQL Int). */
const NO_SUCH_AUTHOR = 2_147_483_647;
/** Fields a client might add to a sign-up or profile update to grant itself power. */
const SMUGGLED: Record<string, unknown>[] = [
  { roles: ['admin'] },
  { is_admin: true },
  { isAdmin: true },
  { permissions: ['admin', 'moderate'] },
];

/** One GraphQL operation as an API client sends it, with a bearer token when given. */
function gql(
  target: TestApp | NestExpressApplication,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
) {
  const server = 'app' in target ? target.app.getHttpServer() : target.getHttpServer();
  const req = request(server)
    .post('/graphql')
    .set('Content-Type', 'application/json')
    .set('User-Agent', USER_AGENT);
  if (token) req.set('Authorization', `Bearer ${token}`);
  return req.send({ query, variables });
}

/** Asserts the operation failed with one error and returns its code and message. */
function errorOf(res: Response): { code: string; message: string } {
  expect(res.body.errors).toHaveLength(1);
  const [error] = res.body.errors;
  expect(JSON.stringify(error)).not.toMatch(/ at .*\.(ts|js):\d+|SELECT |INSERT /);
  return { code: error.extensions.code, message: error.message };
}

/** The status GET /auth/profile answers for a credential. */
async function profileStatus(t: TestApp, as: { token?: string; cookie?: string }): Promise<number> {
  const req = t.http().get('/auth/profile');
  if (as.token) req.set('Authorization', `Bearer ${as.token}`);
  if (as.cookie) req.set('Cookie', as.cookie);
  return (await req).status;
}

async function loginStatus(t: TestApp, email: string, password: string): Promise<number> {
  return (await t.http().post('/auth/login').send({ email, password, mode: 'bearer' })).status;
}

function unique(): string {
  return randomBytes(5).toString('hex');
}

async function count(db: DataSource, sql: string, params: unknown[]): Promise<number> {
  const [row] = await db.query(`SELECT count(*)::int AS n FROM ${sql}`, params);
  return Number(row.n);
}

function auditCount(db: DataSource, authorId: number, type: string): Promise<number> {
  return count(db, 'audit_event WHERE author_id = $1 AND type = $2', [authorId, type]);
}

async function auditData(
  db: DataSource,
  authorId: number,
  type: string,
): Promise<Record<string, unknown>[]> {
  const rows: { data: Record<string, unknown> }[] = await db.query(
    'SELECT data FROM audit_event WHERE author_id = $1 AND type = $2 ORDER BY id',
    [authorId, type],
  );
  return rows.map((row) => row.data);
}

function adminRows(db: DataSource, authorId?: number): Promise<number> {
  return authorId === undefined
    ? count(db, "author_role WHERE role_id = 'admin'", [])
    : count(db, "author_role WHERE role_id = 'admin' AND author_id = $1", [authorId]);
}

/** The roles `me` reports for a token (read through the same cache the guard uses). */
async function rolesOf(target: TestApp, token: string): Promise<string[]> {
  return dataOf(await gql(target, ME, {}, token)).me.roles;
}

/** Makes the first admin the way an operator does (ADMIN_EMAIL), then signs them in. */
async function bootstrapAdmin(t: TestApp): Promise<SignedIn & { token: string }> {
  const registration = newRegistration();
  const setup = await t.app
    .get(AdminBootstrapService)
    .ensureAdmin(registration.email, registration.password);
  const session = await login(t, registration.email, registration.password);
  return {
    email: registration.email,
    password: registration.password,
    authorId: setup.author.id,
    token: session.token!,
    body: session.body,
  };
}

async function newAuthor(
  t: TestApp,
  overrides: Partial<{ email: string; password: string; name: string }> = {},
): Promise<SignedIn & { token: string }> {
  const author = await registerAuthor(t, 'bearer', overrides);
  return { ...author, token: author.token! };
}

async function grant(t: TestApp, adminToken: string, authorId: number, role: string) {
  return dataOf(await gql(t, ASSIGN_ROLE, { authorId, role }, adminToken)).assignRole;
}

async function newAdmin(t: TestApp, adminToken: string) {
  const author = await newAuthor(t);
  await grant(t, adminToken, author.authorId, 'admin');
  return author;
}

/** Every page of `authors` for a filter, and the pages' sizes. */
async function walkAuthors(
  t: TestApp,
  token: string,
  filter: { search?: string; role?: string },
  first: number,
): Promise<{ ids: number[]; sizes: number[] }> {
  const ids: number[] = [];
  const sizes: number[] = [];
  let after: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const { authors } = dataOf(await gql(t, AUTHORS, { ...filter, first, after }, token));
    ids.push(...authors.nodes.map((node: Data) => node.id));
    sizes.push(authors.nodes.length);
    if (!authors.pageInfo.hasNextPage) {
      return { ids, sizes };
    }
    expect(authors.pageInfo.endCursor).toEqual(expect.any(String));
    after = authors.pageInfo.endCursor;
  }
  throw new Error('authors pagination did not end');
}

const ascending = (ids: number[]) => [...ids].sort((a, b) => a - b);

describe('admin GraphQL', () => {
  let t: TestApp;
  let db: DataSource;
  let admin: SignedIn & { token: string };

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
    admin = await bootstrapAdmin(t);
  });
  afterAll(() => t.close());

  describe('roles', () => {
    it('lists user, moderator and admin with their permissions', async () => {
      const { roles } = dataOf(await gql(t, ROLES, {}, admin.token));
      expect(roles).toEqual([
        {
          id: 'admin',
          description: expect.any(String),
          permissions: ['admin', 'moderate', 'read', 'write'],
        },
        {
          id: 'moderator',
          description: expect.any(String),
          permissions: ['moderate', 'read', 'write'],
        },
        { id: 'user', description: expect.any(String), permissions: ['read', 'write'] },
      ]);
    });

    it('refuses every admin operation to anonymous callers (UNAUTHENTICATED) and users (FORBIDDEN)', async () => {
      const user = await newAuthor(t);
      const operations: [string, Record<string, unknown>][] = [
        [ROLES, {}],
        [AUTHORS, {}],
        [AUDIT_LOG, {}],
        [TOKEN_STATS, {}],
        [ASSIGN_ROLE, { authorId: user.authorId, role: 'admin' }],
        [REMOVE_ROLE, { authorId: admin.authorId, role: 'admin' }],
        [BAN, { authorId: admin.authorId }],
        [UNBAN, { authorId: user.authorId }],
        [REVOKE_SESSIONS, { authorId: admin.authorId }],
      ];
      for (const [query, variables] of operations) {
        const anonymous = errorOf(await gql(t, query, variables));
        expect(anonymous.code).toBe('UNAUTHENTICATED');
        const asUser = errorOf(await gql(t, query, variables, user.token));
        expect(asUser).toEqual({ code: 'FORBIDDEN', message: 'Missing permission: admin' });
      }
      // None of the refused mutations did anything.
      expect(await rolesOf(t, user.token)).toEqual(['user']);
      expect(await rolesOf(t, admin.token)).toEqual(['admin', 'user']);
      expect(await profileStatus(t, { token: admin.token })).toBe(200);
    });
  });

  describe('authors', () => {
    it('finds authors by part of their email, name or slug, ignoring case', async () => {
      const tag = unique();
      const byEmail = await newAuthor(t, { email: `${tag}-mail@example.test`, name: 'Mail Match' });
      const byName = await newAuthor(t, { name: `Name ${tag}` });
      const bySlug = await newAuthor(t, { name: 'Slug Match' });
      await t
        .http()
        .put('/auth/profile')
        .set('Authorization', `Bearer ${bySlug.token}`)
        .send({ slug: `slug-${tag}` })
        .expect(200);
      await newAuthor(t); // matches nothing of the tag

      const { authors } = dataOf(
        await gql(t, AUTHORS, { search: tag.toUpperCase(), first: 100 }, admin.token),
      );
      expect(authors.nodes.map((node: Data) => node.id)).toEqual(
        ascending([byEmail.authorId, byName.authorId, bySlug.authorId]),
      );
      expect(authors.pageInfo).toEqual({ endCursor: expect.any(String), hasNextPage: false });
      expect(authors.nodes[0]).toEqual({
        id: byEmail.authorId,
        email: byEmail.email,
        name: 'Mail Match',
        slug: expect.any(String),
        emailVerified: false,
        roles: ['user'],
        bannedAt: null,
        createdAt: expect.any(Number),
        lastSeen: null,
      });
      // Admins see emails; the answer carries nothing secret.
      expect(JSON.stringify(authors)).not.toMatch(/password|\$2[aby]\$/i);
    });

    it('treats % and _ in the search as literal characters, not wildcards', async () => {
      const tag = unique();
      const literal = await newAuthor(t, { name: `${tag} 5%_ off` });
      // Would match `5%_` if % and _ were wildcards.
      const lookalike = await newAuthor(t, { name: `${tag} 5ab off` });

      const search = async (text: string) =>
        dataOf(await gql(t, AUTHORS, { search: text, first: 100 }, admin.token)).authors.nodes.map(
          (node: Data) => node.id,
        );
      expect(await search(`${tag} 5%_`)).toEqual([literal.authorId]);
      expect(await search(`${tag} 5_`)).toEqual([]);
      expect(await search(`${tag} 5%`)).toEqual([literal.authorId]);
      expect(await search(`${tag} 5a`)).toEqual([lookalike.authorId]);
      // A lone % finds only names, emails or slugs that contain one.
      const percent = await search('%');
      expect(percent).toContain(literal.authorId);
      expect(percent).not.toContain(lookalike.authorId);
      // A backslash is literal too, not an escape the caller controls.
      expect(await search(`${tag}\\`)).toEqual([]);
    });

    it('filters by role, alone and with a search', async () => {
      const tag = unique();
      const moderator = await newAuthor(t, { name: `Mod ${tag}` });
      const user = await newAuthor(t, { name: `User ${tag}` });
      await grant(t, admin.token, moderator.authorId, 'moderator');

      const filtered = dataOf(
        await gql(t, AUTHORS, { search: tag, role: 'moderator', first: 100 }, admin.token),
      ).authors.nodes;
      expect(filtered).toEqual([
        expect.objectContaining({ id: moderator.authorId, roles: ['moderator', 'user'] }),
      ]);

      const { ids } = await walkAuthors(t, admin.token, { role: 'moderator' }, 100);
      expect(ids).toContain(moderator.authorId);
      expect(ids).not.toContain(user.authorId);
      const holders: { author_id: number }[] = await db.query(
        "SELECT author_id FROM author_role WHERE role_id = 'moderator' ORDER BY author_id",
      );
      expect(ids).toEqual(holders.map((row) => Number(row.author_id)));

      const admins = await walkAuthors(t, admin.token, { role: 'admin' }, 100);
      expect(admins.ids).toContain(admin.authorId);
      expect(admins.ids).not.toContain(moderator.authorId);

      const none = dataOf(await gql(t, AUTHORS, { role: 'no-such-role' }, admin.token));
      expect(none.authors).toEqual({
        nodes: [],
        pageInfo: { endCursor: null, hasNextPage: false },
      });
    });

    it('walks every page once, in a stable order, with no duplicate and no gap', async () => {
      const tag = unique();
      const made: number[] = [];
      for (let i = 0; i < 5; i++)
        made.push((await newAuthor(t, { name: `Page ${tag} ${i}` })).authorId);

      const filtered = await walkAuthors(t, admin.token, { search: tag }, 2);
      expect(filtered.ids).toEqual(ascending(made));
      expect(filtered.sizes).toEqual([2, 2, 1]);

      // The whole directory, in small pages, is exactly the table, each author once.
      const all: { id: number }[] = await db.query('SELECT id FROM author ORDER BY id');
      const walked = await walkAuthors(t, admin.token, {}, 3);
      expect(walked.ids).toEqual(all.map((row) => Number(row.id)));
      expect(new Set(walked.ids).size).toBe(walked.ids.length);
      // Asking again gives the same order.
      expect((await walkAuthors(t, admin.token, {}, 3)).ids).toEqual(walked.ids);

      // The default page is 20.
      const firstPage = dataOf(await gql(t, AUTHORS, {}, admin.token)).authors;
      expect(firstPage.nodes.map((node: Data) => node.id)).toEqual(walked.ids.slice(0, 20));
    });

    it('refuses a cursor it did not make and a page size outside 1..100 with BAD_USER_INPUT', async () => {
      const bad: Record<string, unknown>[] = [
        { after: 'garbage' },
        { after: Buffer.from('c:abc').toString('base64url') },
        { after: Buffer.from("c:1' OR 1=1 --").toString('base64url') },
        { after: 'x'.repeat(65) },
        { first: 0 },
        { first: 101 },
        { first: -1 },
        { role: 'Not A Role!' },
        { search: 'x'.repeat(101) },
      ];
      for (const variables of bad) {
        const res = await gql(t, AUTHORS, variables, admin.token);
        expect({ variables, code: errorOf(res).code }).toEqual({
          variables,
          code: 'BAD_USER_INPUT',
        });
        expect(res.body.data).toBeNull();
      }
      for (const first of [1, 100]) {
        const { authors } = dataOf(await gql(t, AUTHORS, { first }, admin.token));
        expect(authors.nodes.length).toBeGreaterThanOrEqual(1);
        expect(authors.nodes.length).toBeLessThanOrEqual(first);
      }
    });
  });

  describe('assignRole and removeRole', () => {
    it('returns the author with the new roles and audits each change once', async () => {
      const author = await newAuthor(t);

      const assigned = await grant(t, admin.token, author.authorId, 'moderator');
      expect(assigned).toMatchObject({
        id: author.authorId,
        email: author.email,
        roles: ['moderator', 'user'],
      });
      // Assigning again changes nothing and writes nothing.
      expect((await grant(t, admin.token, author.authorId, 'moderator')).roles).toEqual([
        'moderator',
        'user',
      ]);
      expect(await auditCount(db, author.authorId, 'role_granted')).toBe(1);
      expect(await auditData(db, author.authorId, 'role_granted')).toEqual([
        { role: 'moderator', by: admin.authorId },
      ]);
      expect(
        await count(db, 'author_role WHERE author_id = $1 AND granted_by = $2', [
          author.authorId,
          admin.authorId,
        ]),
      ).toBe(1);
      expect(dataOf(await gql(t, ME, {}, author.token)).me.permissions).toEqual([
        'moderate',
        'read',
        'write',
      ]);

      const removed = dataOf(
        await gql(t, REMOVE_ROLE, { authorId: author.authorId, role: 'moderator' }, admin.token),
      ).removeRole;
      expect(removed).toMatchObject({ id: author.authorId, roles: ['user'] });
      const again = dataOf(
        await gql(t, REMOVE_ROLE, { authorId: author.authorId, role: 'moderator' }, admin.token),
      ).removeRole;
      expect(again.roles).toEqual(['user']);
      expect(await auditData(db, author.authorId, 'role_revoked')).toEqual([
        { role: 'moderator', by: admin.authorId },
      ]);
      expect(await rolesOf(t, author.token)).toEqual(['user']);
    });

    it('answers NOT_FOUND for an unknown role or author on assignRole, and changes nothing', async () => {
      const author = await newAuthor(t);
      const unknownRole = errorOf(
        await gql(t, ASSIGN_ROLE, { authorId: author.authorId, role: 'superuser' }, admin.token),
      );
      expect(unknownRole).toEqual({ code: 'NOT_FOUND', message: 'Unknown role superuser' });
      const unknownAuthor = errorOf(
        await gql(t, ASSIGN_ROLE, { authorId: NO_SUCH_AUTHOR, role: 'moderator' }, admin.token),
      );
      expect(unknownAuthor).toEqual({ code: 'NOT_FOUND', message: 'Author not found' });
      expect(await rolesOf(t, author.token)).toEqual(['user']);
      expect(await auditCount(db, author.authorId, 'role_granted')).toBe(0);
    });

    it('answers NOT_FOUND for an unknown role or author on removeRole, and changes nothing', async () => {
      const author = await newAuthor(t);
      const unknownAuthor = errorOf(
        await gql(t, REMOVE_ROLE, { authorId: NO_SUCH_AUTHOR, role: 'moderator' }, admin.token),
      );
      expect(unknownAuthor).toEqual({ code: 'NOT_FOUND', message: 'Author not found' });
      // An admin who mistypes a role must not be told it was removed.
      const unknownRole = await gql(
        t,
        REMOVE_ROLE,
        { authorId: author.authorId, role: 'superuser' },
        admin.token,
      );
      expect(await auditCount(db, author.authorId, 'role_revoked')).toBe(0);
      expect(await rolesOf(t, author.token)).toEqual(['user']);
      expect(errorOf(unknownRole).code).toBe('NOT_FOUND');
    });

    it('refuses malformed arguments with BAD_USER_INPUT', async () => {
      const author = await newAuthor(t);
      for (const variables of [
        { authorId: 0, role: 'moderator' },
        { authorId: -5, role: 'moderator' },
        { authorId: author.authorId, role: '' },
        { authorId: author.authorId, role: 'Admin' },
        { authorId: author.authorId, role: "admin' OR '1'='1" },
      ]) {
        const { code } = errorOf(await gql(t, ASSIGN_ROLE, variables, admin.token));
        expect({ variables, code }).toEqual({ variables, code: 'BAD_USER_INPUT' });
      }
      expect(await rolesOf(t, author.token)).toEqual(['user']);
    });
  });

  describe('a role change applies on the next request, without a new sign-in', () => {
    async function newShout(token: string): Promise<number> {
      const { createShout } = dataOf(
        await gql(t, CREATE_SHOUT, { input: { title: `Shout ${unique()}`, body: 'text' } }, token),
      );
      return createShout.id;
    }

    it('a user made moderator can unpublish at once; demoted, they cannot', async () => {
      const writer = await newAuthor(t);
      const user = await newAuthor(t);
      const first = await newShout(writer.token);
      const second = await newShout(writer.token);

      // As a user: refused (and their permissions are now cached).
      expect(
        errorOf(await gql(t, UNPUBLISH_SHOUT, { id: first, reason: 'spam' }, user.token)),
      ).toEqual({ code: 'FORBIDDEN', message: 'Missing permission: moderate' });

      await grant(t, admin.token, user.authorId, 'moderator');
      const { unpublishShout } = dataOf(
        await gql(t, UNPUBLISH_SHOUT, { id: first, reason: 'spam' }, user.token),
      );
      expect(unpublishShout).toEqual({
        id: first,
        unpublishedAt: expect.any(Number),
        unpublishReason: 'spam',
      });

      dataOf(
        await gql(t, REMOVE_ROLE, { authorId: user.authorId, role: 'moderator' }, admin.token),
      );
      expect(
        errorOf(await gql(t, UNPUBLISH_SHOUT, { id: second, reason: 'spam' }, user.token)).code,
      ).toBe('FORBIDDEN');
      // The refused request left the shout published: anyone can read it.
      expect(
        dataOf(
          await gql(t, 'query($id: Int!) { shout(id: $id) { id unpublishedAt } }', { id: second }),
        ).shout,
      ).toEqual({
        id: second,
        unpublishedAt: null,
      });
    });

    const shared = SERVICES.databaseUrl && SERVICES.redisUrl;
    if (!shared) {
      console.warn(
        'DATABASE_URL or REDIS_URL unset: skipping the two-instance role change test (it needs a shared Postgres and Redis)',
      );
    }
    (shared ? it : it.skip)(
      'across two instances sharing Postgres and Redis: promoted on A, the next request on B sees it',
      async () => {
        // A second app on the same database, key prefix and DATA_DIR (hence the same JWT secret).
        const other = await createApp(loadConfig(environmentOf(t)));
        try {
          await other.listen(0, '127.0.0.1');
          const writer = await newAuthor(t);
          const user = await newAuthor(t);
          const first = await newShout(writer.token);
          const second = await newShout(writer.token);

          // B caches the user's permissions in the shared store.
          expect(
            errorOf(await gql(other, UNPUBLISH_SHOUT, { id: first, reason: 'x' }, user.token)).code,
          ).toBe('FORBIDDEN');

          await grant(t, admin.token, user.authorId, 'moderator');
          const { unpublishShout } = dataOf(
            await gql(other, UNPUBLISH_SHOUT, { id: first, reason: 'x' }, user.token),
          );
          expect(unpublishShout.unpublishedAt).toEqual(expect.any(Number));

          dataOf(
            await gql(t, REMOVE_ROLE, { authorId: user.authorId, role: 'moderator' }, admin.token),
          );
          expect(
            errorOf(await gql(other, UNPUBLISH_SHOUT, { id: second, reason: 'x' }, user.token))
              .code,
          ).toBe('FORBIDDEN');
        } finally {
          await other.close();
        }
      },
    );
  });

  describe('banAuthor and unbanAuthor', () => {
    it('kills every session of the author at once and refuses their sign-in until unbanned', async () => {
      const target = await newAuthor(t);
      const cookieSession = await login(t, target.email, target.password, 'cookie');
      const otherBearer = await login(t, target.email, target.password, 'bearer');
      for (const as of [{ token: target.token }, { token: otherBearer.token }, cookieSession]) {
        expect(await profileStatus(t, as)).toBe(200);
      }

      const { banAuthor } = dataOf(
        await gql(t, BAN, { authorId: target.authorId, reason: 'spam' }, admin.token),
      );
      expect(banAuthor).toMatchObject({ id: target.authorId, roles: ['user'] });
      expect(Math.abs(banAuthor.bannedAt - Date.now() / 1000)).toBeLessThan(60);

      for (const as of [{ token: target.token }, { token: otherBearer.token }, cookieSession]) {
        expect(await profileStatus(t, as)).toBe(401);
      }
      expect(errorOf(await gql(t, ME, {}, target.token)).code).toBe('UNAUTHENTICATED');
      expect(await loginStatus(t, target.email, target.password)).toBe(403);
      expect(await auditData(db, target.authorId, 'author_banned')).toEqual([
        { by: admin.authorId, reason: 'spam', sessions_revoked: 3 },
      ]);

      // Banning again changes nothing and writes nothing.
      const again = dataOf(await gql(t, BAN, { authorId: target.authorId }, admin.token));
      expect(again.banAuthor.bannedAt).toBe(banAuthor.bannedAt);
      expect(await auditCount(db, target.authorId, 'author_banned')).toBe(1);

      const { unbanAuthor } = dataOf(
        await gql(t, UNBAN, { authorId: target.authorId }, admin.token),
      );
      expect(unbanAuthor).toMatchObject({ id: target.authorId, bannedAt: null });
      expect(await auditData(db, target.authorId, 'author_unbanned')).toEqual([
        { by: admin.authorId },
      ]);
      // The ban revoked the sessions; lifting it does not bring them back.
      for (const as of [{ token: target.token }, { token: otherBearer.token }, cookieSession]) {
        expect(await profileStatus(t, as)).toBe(401);
      }
      const fresh = await login(t, target.email, target.password);
      expect(await profileStatus(t, { token: fresh.token })).toBe(200);

      dataOf(await gql(t, UNBAN, { authorId: target.authorId }, admin.token));
      expect(await auditCount(db, target.authorId, 'author_unbanned')).toBe(1);
    });

    it('refuses a self-ban (BAD_USER_INPUT) and an unknown author (NOT_FOUND)', async () => {
      expect(errorOf(await gql(t, BAN, { authorId: admin.authorId }, admin.token)).code).toBe(
        'BAD_USER_INPUT',
      );
      expect(await profileStatus(t, { token: admin.token })).toBe(200);
      expect(await count(db, 'author WHERE id = $1 AND banned_at IS NULL', [admin.authorId])).toBe(
        1,
      );
      for (const query of [BAN, UNBAN, REVOKE_SESSIONS]) {
        const { code } = errorOf(await gql(t, query, { authorId: NO_SUCH_AUTHOR }, admin.token));
        expect({ query, code }).toEqual({ query, code: 'NOT_FOUND' });
      }
      const long = errorOf(
        await gql(t, BAN, { authorId: NO_SUCH_AUTHOR, reason: 'x'.repeat(501) }, admin.token),
      );
      expect(long.code).toBe('BAD_USER_INPUT');
    });
  });

  describe('revokeAuthorSessions', () => {
    it('ends every session of the author, returns how many, and audits it', async () => {
      const target = await newAuthor(t);
      const cookieSession = await login(t, target.email, target.password, 'cookie');

      const { revokeAuthorSessions } = dataOf(
        await gql(t, REVOKE_SESSIONS, { authorId: target.authorId }, admin.token),
      );
      expect(revokeAuthorSessions).toBe(2);
      expect(await profileStatus(t, { token: target.token })).toBe(401);
      expect(await profileStatus(t, cookieSession)).toBe(401);
      expect(await auditData(db, target.authorId, 'session_revoked')).toEqual([
        { by: admin.authorId, all: true, count: 2 },
      ]);
      // Not a ban: they sign in again.
      const fresh = await login(t, target.email, target.password);
      expect(await profileStatus(t, { token: fresh.token })).toBe(200);
      // The admin's own session is untouched.
      expect(await profileStatus(t, { token: admin.token })).toBe(200);

      const none = await newAuthor(t);
      await t.http().post('/auth/logout').set('Authorization', `Bearer ${none.token}`).expect(204);
      expect(
        dataOf(await gql(t, REVOKE_SESSIONS, { authorId: none.authorId }, admin.token))
          .revokeAuthorSessions,
      ).toBe(0);
    });
  });

  describe('auditLog', () => {
    it('lists events newest first, by author and by type, page by page', async () => {
      const author = await newAuthor(t);
      await login(t, author.email, author.password);
      await grant(t, admin.token, author.authorId, 'moderator');
      dataOf(
        await gql(t, REMOVE_ROLE, { authorId: author.authorId, role: 'moderator' }, admin.token),
      );

      const expected: { id: string; type: string }[] = await db.query(
        'SELECT id::text AS id, type FROM audit_event WHERE author_id = $1 ORDER BY id DESC',
        [author.authorId],
      );
      expect(expected.map((row) => row.type)).toEqual(
        expect.arrayContaining(['register', 'login_success', 'role_granted', 'role_revoked']),
      );
      const { auditLog } = dataOf(
        await gql(t, AUDIT_LOG, { authorId: author.authorId, first: 100 }, admin.token),
      );
      expect(auditLog.nodes.map((node: Data) => ({ id: node.id, type: node.type }))).toEqual(
        expected,
      );
      expect(auditLog.nodes[0]).toEqual({
        id: expect.any(String),
        authorId: author.authorId,
        type: 'role_revoked',
        ip: expect.any(String),
        userAgent: USER_AGENT,
        data: expect.any(String),
        createdAt: expect.any(Number),
      });
      expect(JSON.parse(auditLog.nodes[0].data)).toEqual({ role: 'moderator', by: admin.authorId });
      expect(auditLog.pageInfo.hasNextPage).toBe(false);

      // Two at a time: the same events, each once, in the same order.
      const walked: string[] = [];
      let after: string | undefined;
      let more = true;
      while (more) {
        const page = dataOf(
          await gql(t, AUDIT_LOG, { authorId: author.authorId, first: 2, after }, admin.token),
        ).auditLog;
        expect(page.nodes.length).toBeLessThanOrEqual(2);
        walked.push(...page.nodes.map((node: Data) => node.id));
        more = page.pageInfo.hasNextPage;
        after = page.pageInfo.endCursor;
      }
      expect(walked).toEqual(expected.map((row) => row.id));

      const byType = dataOf(
        await gql(
          t,
          AUDIT_LOG,
          { authorId: author.authorId, type: 'role_granted', first: 100 },
          admin.token,
        ),
      ).auditLog.nodes;
      expect(byType).toHaveLength(1);
      expect(byType[0]).toMatchObject({ authorId: author.authorId, type: 'role_granted' });

      // A type alone spans authors; it still returns only that type, newest first.
      const registrations = dataOf(
        await gql(t, AUDIT_LOG, { type: 'register', first: 100 }, admin.token),
      ).auditLog.nodes;
      expect(registrations.length).toBeGreaterThan(1);
      expect(registrations.every((node: Data) => node.type === 'register')).toBe(true);
      const ids = registrations.map((node: Data) => BigInt(node.id));
      expect(ids).toEqual([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
      expect(registrations.map((node: Data) => node.authorId)).toContain(author.authorId);
    });

    it('refuses an unknown type, a foreign cursor and a bad page size with BAD_USER_INPUT', async () => {
      for (const variables of [
        { type: 'not_an_event' },
        { type: "login_success' OR '1'='1" },
        { after: 'garbage' },
        { first: 0 },
        { first: 101 },
        { authorId: 0 },
      ]) {
        const res = await gql(t, AUDIT_LOG, variables, admin.token);
        expect({ variables, code: errorOf(res).code }).toEqual({
          variables,
          code: 'BAD_USER_INPUT',
        });
      }
    });
  });

  describe('tokenStats', () => {
    it('counts one more session after a new sign-in', async () => {
      const author = await newAuthor(t);
      const before = dataOf(await gql(t, TOKEN_STATS, {}, admin.token)).tokenStats;
      expect(before).toEqual({
        session: expect.any(Number),
        verification: expect.any(Number),
        oauthAccess: expect.any(Number),
        oauthRefresh: expect.any(Number),
        oauthState: expect.any(Number),
        sseTicket: expect.any(Number),
        storeUsedBytes: expect.any(Number),
        storeMaxBytes: expect.any(Number),
      });
      expect(before.session).toBeGreaterThanOrEqual(2); // the admin's and the author's

      await login(t, author.email, author.password);
      const after = dataOf(await gql(t, TOKEN_STATS, {}, admin.token)).tokenStats;
      expect(after.session).toBe(before.session + 1);
      expect(after.storeUsedBytes).toBeGreaterThan(0);
    });
  });

  describe('privilege escalation', () => {
    it('a user cannot assign themselves a role', async () => {
      const user = await newAuthor(t);
      for (const role of ['admin', 'moderator']) {
        const res = await gql(t, ASSIGN_ROLE, { authorId: user.authorId, role }, user.token);
        expect(errorOf(res)).toEqual({ code: 'FORBIDDEN', message: 'Missing permission: admin' });
        expect(res.body.data).toBeNull();
      }
      expect(dataOf(await gql(t, ME, {}, user.token)).me).toMatchObject({
        roles: ['user'],
        permissions: ['read', 'write'],
      });
      expect(await count(db, 'author_role WHERE author_id = $1', [user.authorId])).toBe(1);
      expect(await auditCount(db, user.authorId, 'role_granted')).toBe(0);
    });

    it('REST register refuses roles or permissions in the body, and stores no account', async () => {
      for (const extra of SMUGGLED) {
        const registration = newRegistration();
        const res = await t
          .http()
          .post('/auth/register')
          .send({ ...registration, mode: 'bearer', ...extra });
        expect({ extra, status: res.status }).toEqual({ extra, status: 400 });
        expect(res.body.token).toBeUndefined();
        expect(await count(db, 'author WHERE lower(email) = lower($1)', [registration.email])).toBe(
          0,
        );

        // The same sign-up without the extra field gets the plain user role.
        const clean = await t
          .http()
          .post('/auth/register')
          .send({ ...registration, mode: 'bearer' })
          .expect(201);
        expect(clean.body.author.roles).toEqual(['user']);
      }
    });

    it('PUT /auth/profile refuses roles or permissions in the body, and changes nothing', async () => {
      const user = await newAuthor(t);
      for (const extra of SMUGGLED) {
        const res = await t
          .http()
          .put('/auth/profile')
          .set('Authorization', `Bearer ${user.token}`)
          .send({ name: 'Escalated', ...extra });
        expect({ extra, status: res.status }).toEqual({ extra, status: 400 });
      }
      const profile = await t
        .http()
        .get('/auth/profile')
        .set('Authorization', `Bearer ${user.token}`)
        .expect(200);
      expect(profile.body).toMatchObject({
        name: user.body.author.name,
        roles: ['user'],
        permissions: ['read', 'write'],
      });
      expect(await count(db, 'author_role WHERE author_id = $1', [user.authorId])).toBe(1);
    });

    /** Apollo refuses an input field the type does not declare while validating or coercing. */
    const REFUSED_INPUT = expect.stringMatching(/^(BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED)$/);

    it('GraphQL register and updateProfile refuse roles or permissions written in the document', async () => {
      const user = await newAuthor(t);
      const outcomes: Data[] = [];
      for (const extra of SMUGGLED) {
        const registration = newRegistration();
        const [field, value] = Object.entries(extra)[0];
        const literal = `${field}: ${JSON.stringify(value)}`;
        const register = await gql(
          t,
          `mutation { register(input: { email: ${JSON.stringify(registration.email)},
            password: ${JSON.stringify(registration.password)}, mode: "bearer", ${literal} }) {
            author { id roles } token } }`,
        );
        const update = await gql(
          t,
          `mutation { updateProfile(input: { name: "Escalated", ${literal} }) { id roles } }`,
          {},
          user.token,
        );
        outcomes.push({
          field,
          register: errorOf(register).code,
          update: errorOf(update).code,
          stored: await count(db, 'author WHERE lower(email) = lower($1)', [registration.email]),
        });
      }
      expect(outcomes).toEqual(
        SMUGGLED.map((extra) => ({
          field: Object.keys(extra)[0],
          register: REFUSED_INPUT,
          update: REFUSED_INPUT,
          stored: 0,
        })),
      );
      expect(dataOf(await gql(t, ME, {}, user.token)).me).toMatchObject({
        name: user.body.author.name,
        roles: ['user'],
        permissions: ['read', 'write'],
      });
    });

    it('GraphQL register and updateProfile refuse roles or permissions passed as variables', async () => {
      const user = await newAuthor(t);
      const outcomes: Data[] = [];
      for (const extra of SMUGGLED) {
        const registration = newRegistration();
        const register = await gql(t, REGISTER, {
          input: { ...registration, mode: 'bearer', ...extra },
        });
        const update = await gql(
          t,
          UPDATE_PROFILE,
          { input: { name: 'Escalated', ...extra } },
          user.token,
        );
        outcomes.push({
          field: Object.keys(extra)[0],
          register: { status: register.status, code: errorOf(register).code },
          update: { status: update.status, code: errorOf(update).code },
          stored: await count(db, 'author WHERE lower(email) = lower($1)', [registration.email]),
        });
      }
      // Nothing is stored, and the answer is a client error, not a 500.
      expect(dataOf(await gql(t, ME, {}, user.token)).me).toMatchObject({
        name: user.body.author.name,
        roles: ['user'],
        permissions: ['read', 'write'],
      });
      expect(outcomes).toEqual(
        SMUGGLED.map((extra) => ({
          field: Object.keys(extra)[0],
          register: { status: 400, code: REFUSED_INPUT },
          update: { status: 400, code: REFUSED_INPUT },
          stored: 0,
        })),
      );
    });

    it('a moderator cannot assign roles or ban', async () => {
      const moderator = await newAuthor(t);
      const victim = await newAuthor(t);
      await grant(t, admin.token, moderator.authorId, 'moderator');

      for (const [query, variables] of [
        [ASSIGN_ROLE, { authorId: moderator.authorId, role: 'admin' }],
        [ASSIGN_ROLE, { authorId: victim.authorId, role: 'moderator' }],
        [REMOVE_ROLE, { authorId: admin.authorId, role: 'admin' }],
        [BAN, { authorId: victim.authorId, reason: 'because' }],
        [BAN, { authorId: admin.authorId }],
      ] as const) {
        expect(errorOf(await gql(t, query, variables, moderator.token))).toEqual({
          code: 'FORBIDDEN',
          message: 'Missing permission: admin',
        });
      }
      expect(await rolesOf(t, moderator.token)).toEqual(['moderator', 'user']);
      expect(await rolesOf(t, victim.token)).toEqual(['user']);
      expect(await profileStatus(t, { token: victim.token })).toBe(200);
      expect(await rolesOf(t, admin.token)).toEqual(['admin', 'user']);
    });

    it('an admin token replayed after its admin was demoted is refused', async () => {
      const demoted = await newAdmin(t, admin.token);
      const victim = await newAuthor(t);
      // While admin, the token works.
      dataOf(await gql(t, AUTHORS, { first: 1 }, demoted.token));

      dataOf(await gql(t, REMOVE_ROLE, { authorId: demoted.authorId, role: 'admin' }, admin.token));
      for (const [query, variables] of [
        [AUTHORS, { first: 1 }],
        [ASSIGN_ROLE, { authorId: demoted.authorId, role: 'admin' }],
        [BAN, { authorId: victim.authorId }],
      ] as const) {
        expect(errorOf(await gql(t, query, variables, demoted.token))).toEqual({
          code: 'FORBIDDEN',
          message: 'Missing permission: admin',
        });
      }
      // The session itself still works: only the permission went.
      expect(await rolesOf(t, demoted.token)).toEqual(['user']);
      expect(await adminRows(db, demoted.authorId)).toBe(0);
      expect(await profileStatus(t, { token: victim.token })).toBe(200);
    });
  });
});

describe('the last admin', () => {
  let t: TestApp;
  let db: DataSource;
  let root: SignedIn & { token: string };

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
    root = await bootstrapAdmin(t);
  });
  afterAll(() => t.close());

  /** Back to `root` as the one admin, unbanned and freshly signed in. */
  async function onlyRootAdmin(): Promise<void> {
    const demoted: { author_id: number }[] = await db.query(
      "DELETE FROM author_role WHERE role_id = 'admin' AND author_id <> $1 RETURNING author_id",
      [root.authorId],
    );
    await db.query('UPDATE author SET banned_at = NULL WHERE id = $1', [root.authorId]);
    const permissions = t.app.get(PermissionsService);
    for (const { author_id } of demoted) await permissions.invalidate(Number(author_id));
    await t.app.get(AdminBootstrapService).ensureAdmin(root.email, root.password);
    await permissions.invalidate(root.authorId);
    root.token = (await login(t, root.email, root.password)).token!;
    expect(await adminRows(db)).toBe(1);
  }

  /** Admins who are not banned: the ones who can still administer. */
  const activeAdmins = () =>
    count(
      db,
      "author_role ar JOIN author a ON a.id = ar.author_id WHERE ar.role_id = 'admin' AND a.banned_at IS NULL",
      [],
    );

  /** `ok`, or the error codes of a response: a compact outcome to compare. */
  const outcome = (res: Response): string =>
    res.body.errors ? res.body.errors.map((e: Data) => e.extensions?.code).join(',') : 'ok';

  /**
   * Runs two admins' conflicting requests at once, a few times (each from a fresh state), and
   * returns what each round ended with. Several rounds, because which request wins varies.
   */
  async function race(
    requests: (second: SignedIn & { token: string }) => [Promise<Response>, Promise<Response>],
  ) {
    const rounds: Data[] = [];
    for (let round = 0; round < 5; round++) {
      await onlyRootAdmin();
      const second = await newAdmin(t, root.token);
      const answers = await Promise.all(requests(second));
      rounds.push({
        outcomes: answers.map(outcome),
        winners: answers.filter((res) => !res.body.errors).length,
        activeAdmins: await activeAdmins(),
      });
    }
    return rounds;
  }

  beforeEach(onlyRootAdmin);

  it('the only admin cannot remove their own admin role', async () => {
    const res = await gql(t, REMOVE_ROLE, { authorId: root.authorId, role: 'admin' }, root.token);
    expect(errorOf(res)).toEqual({
      code: 'CONFLICT',
      message: 'The last admin cannot lose the admin role',
    });
    expect(await rolesOf(t, root.token)).toEqual(['admin', 'user']);
    expect(await adminRows(db, root.authorId)).toBe(1);
    expect(await auditCount(db, root.authorId, 'role_revoked')).toBe(0);
    // Other roles can still be taken away from them.
    expect(
      dataOf(await gql(t, REMOVE_ROLE, { authorId: root.authorId, role: 'user' }, root.token))
        .removeRole.roles,
    ).toEqual(['admin']);
    await grant(t, root.token, root.authorId, 'user');
  });

  it('with two admins, one can demote the other; then the survivor is the last', async () => {
    const second = await newAdmin(t, root.token);
    expect(await adminRows(db)).toBe(2);

    const { removeRole } = dataOf(
      await gql(t, REMOVE_ROLE, { authorId: root.authorId, role: 'admin' }, second.token),
    );
    expect(removeRole).toMatchObject({ id: root.authorId, roles: ['user'] });
    expect(errorOf(await gql(t, AUTHORS, {}, root.token)).code).toBe('FORBIDDEN');

    expect(
      errorOf(
        await gql(t, REMOVE_ROLE, { authorId: second.authorId, role: 'admin' }, second.token),
      ),
    ).toEqual({ code: 'CONFLICT', message: 'The last admin cannot lose the admin role' });
    expect(await rolesOf(t, second.token)).toEqual(['admin', 'user']);
  });

  it('two admins demoting each other at once: exactly one succeeds, one admin remains', async () => {
    const rounds = await race((second) => [
      gql(t, REMOVE_ROLE, { authorId: second.authorId, role: 'admin' }, root.token),
      gql(t, REMOVE_ROLE, { authorId: root.authorId, role: 'admin' }, second.token),
    ]);
    // The loser either lost the race for the lock (CONFLICT) or was already demoted (FORBIDDEN).
    const loses = expect.stringMatching(/^(ok|CONFLICT|FORBIDDEN)$/);
    expect(rounds).toEqual(
      rounds.map(() => ({ outcomes: [loses, loses], winners: 1, activeAdmins: 1 })),
    );
    expect(await adminRows(db)).toBe(1);
  });

  it('two admins banning each other at once: exactly one is banned, one admin remains', async () => {
    const rounds = await race((second) => [
      gql(t, BAN, { authorId: second.authorId }, root.token),
      gql(t, BAN, { authorId: root.authorId }, second.token),
    ]);
    // The loser either found the other the last admin (CONFLICT) or was already banned.
    const loses = expect.stringMatching(/^(ok|CONFLICT|UNAUTHENTICATED)$/);
    expect(rounds).toEqual(
      rounds.map(() => ({ outcomes: [loses, loses], winners: 1, activeAdmins: 1 })),
    );
  });

  it('an admin banning another while being demoted by them: one admin remains', async () => {
    const rounds = await race((second) => [
      gql(t, BAN, { authorId: second.authorId }, root.token),
      gql(t, REMOVE_ROLE, { authorId: root.authorId, role: 'admin' }, second.token),
    ]);
    const loses = expect.stringMatching(/^(ok|CONFLICT|FORBIDDEN|UNAUTHENTICATED)$/);
    expect(rounds).toEqual(
      rounds.map(() => ({ outcomes: [loses, loses], winners: 1, activeAdmins: 1 })),
    );
  });

  it('an admin cannot ban themselves (BAD_USER_INPUT), even with another admin around', async () => {
    const second = await newAdmin(t, root.token);
    const bansBefore = await auditCount(db, root.authorId, 'author_banned');
    for (const actor of [root, second]) {
      const res = await gql(t, BAN, { authorId: actor.authorId, reason: 'oops' }, actor.token);
      expect(errorOf(res).code).toBe('BAD_USER_INPUT');
      expect(await profileStatus(t, { token: actor.token })).toBe(200);
    }
    expect(await auditCount(db, root.authorId, 'author_banned')).toBe(bansBefore);
  });

  it('a banned admin does not count: the last active admin keeps the role', async () => {
    const second = await newAdmin(t, root.token);
    dataOf(await gql(t, BAN, { authorId: second.authorId }, root.token));
    expect(
      errorOf(await gql(t, REMOVE_ROLE, { authorId: root.authorId, role: 'admin' }, root.token)),
    ).toEqual({ code: 'CONFLICT', message: 'The last admin cannot lose the admin role' });
    expect(await adminRows(db, root.authorId)).toBe(1);
  });

  it('the last admin cannot be banned, even by someone holding the admin permission', async () => {
    // A custom role carrying `admin`: its holder may call banAuthor without being an `admin`.
    const role = `ops-${unique()}`;
    await db.query("INSERT INTO role (id, description) VALUES ($1, 'test operators')", [role]);
    await db.query("INSERT INTO role_permission (role_id, permission_id) VALUES ($1, 'admin')", [
      role,
    ]);
    try {
      const bansBefore = await auditCount(db, root.authorId, 'author_banned');
      const operator = await newAuthor(t);
      expect((await grant(t, root.token, operator.authorId, role)).roles).toEqual([role, 'user']);

      const ban = errorOf(
        await gql(t, BAN, { authorId: root.authorId, reason: 'takeover' }, operator.token),
      );
      expect(ban).toEqual({ code: 'CONFLICT', message: 'The last admin cannot be banned' });
      expect(await profileStatus(t, { token: root.token })).toBe(200);
      expect(await count(db, 'author WHERE id = $1 AND banned_at IS NULL', [root.authorId])).toBe(
        1,
      );
      expect(await auditCount(db, root.authorId, 'author_banned')).toBe(bansBefore);

      const demote = errorOf(
        await gql(t, REMOVE_ROLE, { authorId: root.authorId, role: 'admin' }, operator.token),
      );
      expect(demote.code).toBe('CONFLICT');
      expect(await rolesOf(t, root.token)).toEqual(['admin', 'user']);
    } finally {
      await db.query('DELETE FROM role WHERE id = $1', [role]);
    }
  });
});
