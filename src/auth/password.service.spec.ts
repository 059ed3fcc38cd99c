import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load-config';
import { PasswordService } from './password.service';

describe('PasswordService', () => {
  let dataDir: string;
  const service = (rounds: number) =>
    new PasswordService(loadConfig({ DATA_DIR: dataDir, BCRYPT_ROUNDS: String(rounds) }));

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-password-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('hashes with bcrypt at the configured cost and checks the password', async () => {
    const passwords = service(5);
    const stored = await passwords.hash('correct horse battery');
    expect(stored).toMatch(/^\$2b\$05\$/);
    expect(stored).not.toContain('correct horse');
    expect(await passwords.check('correct horse battery', stored)).toEqual({
      valid: true,
      needsRehash: false,
    });
    expect((await passwords.check('correct horse batterY', stored)).valid).toBe(false);
  });

  it('tells apart long passwords that differ only after byte 72', async () => {
    const passwords = service(4);
    const prefix = 'p'.repeat(80);
    const stored = await passwords.hash(`${prefix}-one`);
    expect((await passwords.check(`${prefix}-one`, stored)).valid).toBe(true);
    expect((await passwords.check(`${prefix}-two`, stored)).valid).toBe(false);
  });

  it('counts bytes, not characters, for the 72-byte limit', async () => {
    const passwords = service(4);
    const prefix = 'ж'.repeat(40);
    const stored = await passwords.hash(`${prefix}a`);
    expect((await passwords.check(`${prefix}b`, stored)).valid).toBe(false);
  });

  it('asks for a rehash when the cost changed, only after a valid password', async () => {
    const old = await service(4).hash('correct horse battery');
    const current = service(5);
    expect(await current.check('correct horse battery', old)).toEqual({
      valid: true,
      needsRehash: true,
    });
    expect(await current.check('wrong', old)).toEqual({ valid: false, needsRehash: false });
  });

  it('refuses when there is no stored hash, or a malformed one', async () => {
    const passwords = service(4);
    expect(await passwords.check('anything', null)).toEqual({ valid: false, needsRehash: false });
    expect((await passwords.check('anything', 'not-a-bcrypt-hash')).valid).toBe(false);
  });
});
