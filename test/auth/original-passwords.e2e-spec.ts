import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { registerAuthor } from '../support/auth';
import { startTestApp, type TestApp } from '../support/test-app';

// Issue #16, passwords (docs/CUT-OVER.md): hashes made by the original service's algorithm —
// bcrypt cost 10, and beyond 72 bytes a SHA-256 pre-hash in the encoding PASSWORD_PREHASH names —
// verify here. The fixtures come from test/auth/fixtures/original-password-hashes.py (Python's
// hashlib and libxcrypt's bcrypt, not this service's code).

interface Fixture {
  password: string;
  bytes: number;
  prehash: 'base64' | 'hex';
  hash: string;
}

const FIXTURES = JSON.parse(
  readFileSync(join(process.cwd(), 'test/auth/fixtures/original-password-hashes.json'), 'utf8'),
) as Fixture[];

/** An account whose stored hash is the fixture's, as the original service left it. */
async function accountWith(t: TestApp, fixture: Fixture): Promise<string> {
  const author = await registerAuthor(t);
  await t.app
    .get(DataSource)
    .query('UPDATE author SET password_hash = $1 WHERE id = $2', [fixture.hash, author.authorId]);
  return author.email;
}

async function loginStatus(t: TestApp, email: string, password: string): Promise<number> {
  return (await t.http().post('/auth/login').send({ email, password, mode: 'bearer' })).status;
}

/** The password with its last character changed: past 72 bytes, only the pre-hash sees it. */
const lastCharChanged = (password: string) =>
  password.slice(0, -1) + (password.endsWith('!') ? '?' : '!');

describe.each(['base64', 'hex'] as const)(
  'original password hashes with PASSWORD_PREHASH=%s',
  (prehash) => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({ PASSWORD_PREHASH: prehash });
    });
    afterAll(() => t.close());

    it.each(FIXTURES.filter((fixture) => fixture.prehash === prehash).map((f) => [f.bytes, f]))(
      'signs in with a %i-byte password hashed by the original, and refuses it with one character changed',
      async (_bytes, fixture) => {
        const email = await accountWith(t, fixture);
        expect(await loginStatus(t, email, lastCharChanged(fixture.password))).toBe(401);
        expect(await loginStatus(t, email, fixture.password)).toBe(200);
      },
    );

    it('refuses a long password pre-hashed in the other encoding (the setting must match the original)', async () => {
      const other = FIXTURES.find((fixture) => fixture.prehash !== prehash && fixture.bytes > 72)!;
      const email = await accountWith(t, other);
      expect(await loginStatus(t, email, other.password)).toBe(401);
    });
  },
);
