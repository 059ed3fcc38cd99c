import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type RawEnvironment } from './load-config';

/** What `openssl rand -base64 48` gives: the secret the refusal message tells operators to make. */
const STRONG_SECRET = randomBytes(48).toString('base64');
const PRODUCTION_WITHOUT_SMTP = { NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET };
const PRODUCTION = { ...PRODUCTION_WITHOUT_SMTP, SMTP_URL: 'smtp://mail.example.test:587' };

describe('loadConfig', () => {
  let dataDir: string;
  const load = (env: RawEnvironment) => loadConfig({ DATA_DIR: dataDir, ...env });
  const refusal = (env: RawEnvironment): string => {
    try {
      load(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('configuration was accepted');
  };

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-config-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts with no environment at all, on the documented defaults', () => {
    // DATA_DIR defaults to ./data, where the generated JWT secret goes: run from a scratch folder
    // so that the test leaves nothing in the working tree.
    const cwd = process.cwd();
    process.chdir(dataDir);
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig({});
    } finally {
      process.chdir(cwd);
    }
    expect(config.dataDir).toBe(join(realpathSync(dataDir), 'data'));
    expect(existsSync(join(dataDir, 'data', 'jwt-secret'))).toBe(true);
    expect(config.port).toBe(3000);
    expect(config.database.url).toBeUndefined();
    expect(config.redis).toEqual({ url: undefined, keyPrefix: '' });
    expect(config.cookie).toEqual({
      name: 'session_token',
      secure: false,
      httpOnly: true,
      sameSite: 'lax',
      maxAgeSeconds: 2592000,
      domain: undefined,
    });
    expect(config.jwt.expirationHours).toBe(720);
    expect(config.sse).toEqual({
      heartbeatS: 15,
      maxLifetimeS: 1800,
      maxPerUser: 10,
      ticketTtlS: 30,
      ticketBindIp: true,
      replayLimit: 500,
      sessionRecheckS: 10,
    });
    expect(config.trustProxy).toBe(false);
  });

  it.each([
    [{ PORT: 'abc' }, 'Invalid configuration: PORT must be an integer from 0 to 65535'],
    [
      { SSE_SESSION_RECHECK_S: '60' },
      'Invalid configuration: SSE_SESSION_RECHECK_S must be a whole number of seconds from 1 to 30',
    ],
    [
      { REDIS_COMMAND_TIMEOUT_MS: '10' },
      'Invalid configuration: REDIS_COMMAND_TIMEOUT_MS must be a whole number of milliseconds from 50 to 60000',
    ],
    [
      { DATABASE_URL: 'not-a-url' },
      'Invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL',
    ],
    [
      { SESSION_COOKIE_SAMESITE: 'maybe' },
      'Invalid configuration: SESSION_COOKIE_SAMESITE must be one of lax, strict, none',
    ],
    [{ PORT: '70000' }, 'Invalid configuration: PORT must be an integer from 0 to 65535'],
    [
      { SSE_TICKET_BIND_IP: 'perhaps' },
      'Invalid configuration: SSE_TICKET_BIND_IP must be true or false',
    ],
    [
      { REDIS_URL: 'http://x' },
      'Invalid configuration: REDIS_URL must be a redis:// or rediss:// URL',
    ],
    [
      { GOOGLE_TOKEN_URL: 'ftp://x' },
      'Invalid configuration: GOOGLE_TOKEN_URL must be an http(s) URL',
    ],
  ])('refuses %j with one line naming the variable', (env, message) => {
    const text = refusal(env);
    expect(text).toBe(message);
    expect(text).not.toContain('\n');
  });

  it('names every bad variable on the same line without echoing values', () => {
    const text = refusal({ PORT: 'abc', BCRYPT_ROUNDS: 'lots-of-secret-rounds' });
    expect(text).toMatch(/PORT .*; BCRYPT_ROUNDS /);
    expect(text).not.toContain('lots-of-secret-rounds');
  });

  it('refuses to start in production without JWT_SECRET', () => {
    expect(refusal({ NODE_ENV: 'production' })).toBe(
      'Invalid configuration: JWT_SECRET is required when NODE_ENV=production',
    );
  });

  it('refuses placeholder or short secrets in production', () => {
    expect(
      refusal({ ...PRODUCTION, JWT_SECRET: 'change-me-change-me-change-me-change-me' }),
    ).toMatch(/JWT_SECRET must be at least 32 characters and not a placeholder/);
    expect(refusal({ ...PRODUCTION, JWT_SECRET: 'short' })).toMatch(/JWT_SECRET/);
  });

  // The three secrets of the outside review: 32 characters or more, yet guessable at once.
  it.each(['a'.repeat(32), '1234567890'.repeat(4), 'password'.repeat(4)])(
    'refuses the low-entropy secret %s in production, in one line that does not echo it',
    (secret) => {
      const text = refusal({ ...PRODUCTION, JWT_SECRET: secret });
      expect(text).toBe(
        'Invalid configuration: JWT_SECRET is too easy to guess (repeats, sequences or words) for production; generate one with `openssl rand -base64 48`',
      );
      expect(text).not.toContain(secret.slice(0, 8));
    },
  );

  it('accepts any 32 random characters, hex or base64url, in production', () => {
    for (const secret of [
      randomBytes(16).toString('hex'),
      randomBytes(24).toString('base64url'),
      STRONG_SECRET,
    ]) {
      expect(load({ ...PRODUCTION, JWT_SECRET: secret }).jwt.secret).toBe(secret);
    }
  });

  it('does not judge the strength of a secret outside production', () => {
    expect(load({ JWT_SECRET: 'a'.repeat(32) }).jwt.secretSource).toBe('environment');
  });

  it('refuses production without SMTP_URL unless the log transport is opted into', () => {
    expect(refusal(PRODUCTION_WITHOUT_SMTP)).toBe(
      'Invalid configuration: SMTP_URL is required when NODE_ENV=production (set MAIL_ALLOW_LOG_TRANSPORT=true to write mail to the log instead, tokens redacted)',
    );
    expect(refusal({ ...PRODUCTION_WITHOUT_SMTP, MAIL_ALLOW_LOG_TRANSPORT: 'false' })).toMatch(
      /SMTP_URL/,
    );
    expect(
      load({ ...PRODUCTION_WITHOUT_SMTP, MAIL_ALLOW_LOG_TRANSPORT: 'true' }).mail,
    ).toMatchObject({
      smtpUrl: undefined,
      allowLogTransport: true,
    });
    expect(load(PRODUCTION).mail.smtpUrl).toBe(PRODUCTION.SMTP_URL);
    expect(load({}).mail).toMatchObject({ smtpUrl: undefined, allowLogTransport: false });
  });

  it('makes cookies Secure by default in production', () => {
    const config = load(PRODUCTION);
    expect(config.cookie.secure).toBe(true);
    expect(config.jwt.secretSource).toBe('environment');
  });

  it('turns the docs off in production unless DOCS_ENABLED is set', () => {
    expect(load({}).docs.enabled).toBe(true);
    expect(load(PRODUCTION).docs.enabled).toBe(false);
    expect(load({ ...PRODUCTION, DOCS_ENABLED: 'true' }).docs.enabled).toBe(true);
  });

  it('refuses SameSite=None without Secure', () => {
    expect(refusal({ SESSION_COOKIE_SAMESITE: 'none' })).toBe(
      'Invalid configuration: SESSION_COOKIE_SAMESITE=none requires SESSION_COOKIE_SECURE=true',
    );
    expect(
      load({ SESSION_COOKIE_SAMESITE: 'None', SESSION_COOKIE_SECURE: 'true' }).cookie.sameSite,
    ).toBe('none');
  });

  it('outside production, generates a JWT secret once and keeps it in DATA_DIR', () => {
    const first = load({});
    const second = load({});
    expect(first.jwt.secretSource).toBe('data-dir');
    expect(first.jwt.secret?.length).toBeGreaterThanOrEqual(32);
    expect(second.jwt.secret).toBe(first.jwt.secret);
    expect(readFileSync(join(dataDir, 'jwt-secret'), 'utf8').trim()).toBe(first.jwt.secret);
  });

  it('parses CORS_ORIGINS and refuses anything that is not an origin', () => {
    expect(load({ CORS_ORIGINS: 'https://a.example, http://localhost:5173/' }).corsOrigins).toEqual(
      ['https://a.example', 'http://localhost:5173'],
    );
    expect(refusal({ CORS_ORIGINS: 'https://a.example/path' })).toMatch(
      /^Invalid configuration: CORS_ORIGINS/,
    );
  });

  it('enables an OAuth provider only when both its id and secret are set', () => {
    const config = load({
      GITHUB_CLIENT_ID: 'id',
      GITHUB_CLIENT_SECRET: 'secret',
      GOOGLE_CLIENT_ID: 'only-id',
    });
    expect(Object.keys(config.oauth.providers)).toEqual(['GITHUB']);
  });

  it('reads TELEGRAM_AUTH_MAX_AGE_S into oauth.telegramMaxAgeS, one day by default', () => {
    expect(load({}).oauth.telegramMaxAgeS).toBe(86_400);
    expect(load({ TELEGRAM_AUTH_MAX_AGE_S: '300' }).oauth.telegramMaxAgeS).toBe(300);
    expect(load({ TELEGRAM_AUTH_MAX_AGE_S: '' }).oauth.telegramMaxAgeS).toBe(86_400);
    for (const bad of ['0', '-5', '1.5', 'a day']) {
      expect(refusal({ TELEGRAM_AUTH_MAX_AGE_S: bad })).toBe(
        'Invalid configuration: TELEGRAM_AUTH_MAX_AGE_S must be a positive number of seconds',
      );
    }
  });

  it('offers HS256, RS256 and ES256, and refuses EdDSA and anything else', () => {
    expect(load({}).jwt.algorithm).toBe('HS256');
    for (const algorithm of ['RS256', 'ES256']) {
      expect(load({ JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: 'a key' }).jwt.algorithm).toBe(
        algorithm,
      );
    }
    for (const algorithm of ['EdDSA', 'none', 'hs256', 'ES384']) {
      expect(refusal({ JWT_ALGORITHM: algorithm })).toBe(
        'Invalid configuration: JWT_ALGORITHM must be one of HS256, RS256, ES256',
      );
    }
    expect(refusal({ JWT_ALGORITHM: 'ES256' })).toBe(
      'Invalid configuration: JWT_PRIVATE_KEY is required for ES256',
    );
  });

  it("takes the original platform's FACEBOOK_APP_ID / FACEBOOK_APP_SECRET for Facebook, the new names first", () => {
    expect(
      load({ FACEBOOK_APP_ID: 'app', FACEBOOK_APP_SECRET: 'shh' }).oauth.providers.FACEBOOK,
    ).toMatchObject({
      clientId: 'app',
      clientSecret: 'shh',
    });
    expect(
      load({ FACEBOOK_CLIENT_ID: 'new', FACEBOOK_CLIENT_SECRET: 'new-shh', FACEBOOK_APP_ID: 'old' })
        .oauth.providers.FACEBOOK,
    ).toMatchObject({ clientId: 'new', clientSecret: 'new-shh' });
    expect(load({ FACEBOOK_APP_ID: 'app' }).oauth.providers.FACEBOOK).toBeUndefined();
  });

  it('treats empty values as unset', () => {
    expect(load({ PORT: '', DATABASE_URL: '' }).port).toBe(3000);
  });
});
