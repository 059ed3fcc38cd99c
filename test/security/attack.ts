import type { RawEnvironment } from '../../src/config/load-config';
import type { TestApp } from '../support/test-app';

/** What every row of the attack table gets: apps to attack, booted once and shared. */
export interface AttackContext {
  /** The app under the test configuration (NODE_ENV=test, generous rate limits). */
  app: TestApp;
  /**
   * The same build under NODE_ENV=production: JWT_SECRET and METRICS_TOKEN (`PRODUCTION_METRICS_TOKEN`)
   * set, the log mail transport opted into, cookies not Secure so that plain HTTP can carry them.
   */
  production: () => Promise<TestApp>;
  /** An app with these variables (on top of the test defaults) for one row; closed after the suite. */
  boot: (env: RawEnvironment) => Promise<TestApp>;
}

/** One row of the attack table in docs/SECURITY.md. */
export interface Attack {
  /** What the attacker tries, in a few words. */
  name: string;
  /** `held`: refused already when the outside review ran; `fixed`: a finding of that review. */
  status: 'held' | 'fixed';
  /** Sends the attack, then asserts the refusal and that nothing changed. */
  run: (ctx: AttackContext) => Promise<void>;
}

export const PRODUCTION_METRICS_TOKEN = 'metrics-token-for-the-attack-suite';
export const PRODUCTION_ENV: RawEnvironment = {
  NODE_ENV: 'production',
  JWT_SECRET: 'q7Vt2mXc9LpR4sWz8KbN3hYf6DgJ1aEu5TiO0vQlMnBxCyZr',
  MAIL_ALLOW_LOG_TRANSPORT: 'true',
  METRICS_TOKEN: PRODUCTION_METRICS_TOKEN,
  SESSION_COOKIE_SECURE: 'false',
};
