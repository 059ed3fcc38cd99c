import type { RawEnvironment } from '../../src/config/load-config';
import { startTestApp, type TestApp } from '../support/test-app';
import { type Attack, type AttackContext, PRODUCTION_ENV } from './attack';
import * as held from './attacks/held';
import * as identity from './attacks/identity';
import * as input from './attacks/input';
import * as oauth from './attacks/oauth';
import * as production from './attacks/production';
import * as sessions from './attacks/sessions';
import * as websocket from './attacks/websocket';

/**
 * The standing attack suite: one row per attack, each asserting the refusal and that nothing
 * changed. Rows live in test/security/attacks/ by area; docs/SECURITY.md lists the same table.
 */
const tables: { area: string; attacks: Attack[] }[] = [
  { area: 'held', attacks: held.attacks },
  { area: 'input', attacks: input.attacks },
  { area: 'identity', attacks: identity.attacks },
  { area: 'production', attacks: production.attacks },
  { area: 'sessions', attacks: sessions.attacks },
  { area: 'oauth', attacks: oauth.attacks },
  { area: 'websocket', attacks: websocket.attacks },
];

describe('attack table', () => {
  let app: TestApp;
  let productionApp: Promise<TestApp> | undefined;
  const booted: Promise<TestApp>[] = [];
  const boot = (env: RawEnvironment) => {
    const started = startTestApp(env);
    booted.push(started);
    return started;
  };
  const ctx = (): AttackContext => ({
    app,
    production: () => (productionApp ??= boot(PRODUCTION_ENV)),
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

  for (const { area, attacks } of tables) {
    describe(area, () => {
      for (const attack of attacks) {
        it(`[${attack.status}] ${attack.name}`, () => attack.run(ctx()));
      }
    });
  }
});
