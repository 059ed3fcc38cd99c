import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RawEnvironment } from '../../src/config/load-config';
import { startTestApp, type TestApp } from '../support/test-app';
import { type Attack, type AttackContext, PRODUCTION_ENV } from './attack';

/**
 * The standing attack suite: one row per attack, from every file in test/security/attacks/ (each
 * exports `attacks: Attack[]`). Each row asserts the refusal and that nothing changed; the table in
 * docs/SECURITY.md lists the same rows.
 */
const folder = resolve('test/security/attacks');
const files = readdirSync(folder)
  .filter((file) => file.endsWith('.ts'))
  .sort();
const tables = await Promise.all(
  files.map(async (file) => {
    const module = (await import(join(folder, file))) as { attacks: Attack[] };
    return { file, attacks: module.attacks };
  }),
);

describe('attack table', () => {
  let app: TestApp;
  let production: Promise<TestApp> | undefined;
  const booted: Promise<TestApp>[] = [];
  const boot = (env: RawEnvironment) => {
    const started = startTestApp(env);
    booted.push(started);
    return started;
  };
  const ctx = (): AttackContext => ({
    app,
    production: () => (production ??= boot(PRODUCTION_ENV)),
    boot,
  });

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await Promise.all(booted.map(async (started) => (await started).close()));
    await app?.close();
  });

  it('has rows', () => {
    expect(tables.flatMap((table) => table.attacks).length).toBeGreaterThan(0);
  });

  for (const { file, attacks } of tables) {
    describe(file.replace(/\.ts$/, ''), () => {
      for (const attack of attacks) {
        it(`[${attack.status}] ${attack.name}`, () => attack.run(ctx()));
      }
    });
  }
});
