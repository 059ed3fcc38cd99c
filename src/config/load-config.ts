import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary } from '@zxcvbn-ts/language-common';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import type { AppConfig, OAuthProviderConfig, RateLimit } from './app-config';
import { EnvironmentVariables, OAUTH_PROVIDERS, type OAuthProviderKey } from './environment.schema';

export type RawEnvironment = Record<string, string | undefined>;

/** A configuration problem, worded as the one line the process prints before it exits. */
export class ConfigError extends Error {}

/** Secrets that are obviously copied from an example; refused in production. */
const PLACEHOLDER_SECRETS = ['change-me', 'changeme', 'secret', 'jwt-secret', 'your-secret-here'];
const MIN_PRODUCTION_SECRET_LENGTH = 32;
/**
 * The least estimated guesses (log10) a production JWT_SECRET must need: 10^25 ≈ 2^83. Anyone who
 * holds one token can test HS256 guesses offline, some 10^11 a second on GPUs; 10^25 is still
 * millions of years at that rate. Any 32 random characters (hex or base64) estimate 31 or more, so
 * a generated secret always passes, while repeats, sequences and words (`aaaa…`, `1234…`,
 * `password…`) estimate under 3.
 */
const MIN_PRODUCTION_SECRET_GUESSES_LOG10 = 25;
const GENERATE_SECRET_HINT = 'generate one with `openssl rand -base64 48`';
const JWT_SECRET_FILE = 'jwt-secret';

/**
 * Reads and validates the environment once. Throws `ConfigError` with a one-line message naming
 * every bad variable. Values are never echoed, since some of them are secrets.
 */
export function loadConfig(raw: RawEnvironment = process.env): AppConfig {
  const env = validateEnvironment(raw);
  const nodeEnv = env.NODE_ENV ?? 'development';
  const production = nodeEnv === 'production';
  const dataDir = resolve(env.DATA_DIR ?? './data');
  const algorithm = env.JWT_ALGORITHM ?? 'HS256';
  const cookieSecure = env.SESSION_COOKIE_SECURE ?? production;
  const sameSite = env.SESSION_COOKIE_SAMESITE ?? 'lax';

  if (sameSite === 'none' && !cookieSecure) {
    throw new ConfigError(
      'Invalid configuration: SESSION_COOKIE_SAMESITE=none requires SESSION_COOKIE_SECURE=true',
    );
  }
  const legacySessions = env.LEGACY_SESSIONS ?? 'off';
  // The original service's tokens are verified with its secret, which must be given, not generated.
  if (legacySessions === 'migrate' && !env.JWT_SECRET) {
    throw new ConfigError(
      "Invalid configuration: LEGACY_SESSIONS=migrate requires JWT_SECRET, the original service's secret",
    );
  }
  const jwt = {
    ...resolveJwtKeys(env, algorithm, production, dataDir),
    algorithm,
    originalSecret: legacySessions === 'migrate' ? env.JWT_SECRET : undefined,
  };
  // Without SMTP, mail (verification and reset links) would only reach the log: production has to
  // say that it means it.
  if (production && !env.SMTP_URL && !env.MAIL_ALLOW_LOG_TRANSPORT) {
    throw new ConfigError(
      'Invalid configuration: SMTP_URL is required when NODE_ENV=production (set MAIL_ALLOW_LOG_TRANSPORT=true to write mail to the log instead, tokens redacted)',
    );
  }

  return Object.freeze({
    env: nodeEnv,
    port: env.PORT ?? 3000,
    dataDir,
    logLevel: env.LOG_LEVEL ?? (nodeEnv === 'test' ? 'warn' : 'info'),
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    database: { url: env.DATABASE_URL, migrationsRun: env.DB_MIGRATIONS_RUN ?? true },
    redis: {
      url: env.REDIS_URL,
      keyPrefix: env.REDIS_KEY_PREFIX ?? '',
      commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
    },
    jwt,
    cookie: {
      name: env.SESSION_COOKIE_NAME ?? 'session_token',
      secure: cookieSecure,
      httpOnly: env.SESSION_COOKIE_HTTPONLY ?? true,
      sameSite,
      maxAgeSeconds: env.SESSION_COOKIE_MAX_AGE ?? 2_592_000,
      domain: env.SESSION_COOKIE_DOMAIN,
    },
    frontendUrl: stripTrailingSlash(env.FRONTEND_URL ?? `http://localhost:${env.PORT ?? 3000}`),
    corsOrigins: parseOrigins(env.CORS_ORIGINS),
    demo: { pageDir: resolve('web'), scriptDir: resolve('dist/web') },
    bcryptRounds: env.BCRYPT_ROUNDS ?? 10,
    passwordPrehash: env.PASSWORD_PREHASH ?? 'base64',
    legacySessions,
    mail: {
      smtpUrl: env.SMTP_URL,
      from: env.MAIL_FROM ?? 'Tessera <no-reply@localhost>',
      allowLogTransport: env.MAIL_ALLOW_LOG_TRANSPORT ?? false,
    },
    metrics: { token: env.METRICS_TOKEN },
    docs: { enabled: env.DOCS_ENABLED ?? !production },
    oauth: {
      callbackBaseUrl: env.OAUTH_CALLBACK_BASE_URL,
      providers: readProviders(raw),
      telegramBotToken: env.TELEGRAM_BOT_TOKEN,
      telegramMaxAgeS: env.TELEGRAM_AUTH_MAX_AGE_S ?? 86_400,
      telegramAuthorizationUrl: env.TELEGRAM_AUTHORIZATION_URL,
    },
    sse: {
      heartbeatS: env.SSE_HEARTBEAT_S ?? 15,
      maxLifetimeS: env.SSE_MAX_LIFETIME_S ?? 1800,
      maxPerUser: env.SSE_MAX_PER_USER ?? 10,
      ticketTtlS: env.SSE_TICKET_TTL_S ?? 30,
      ticketBindIp: env.SSE_TICKET_BIND_IP ?? true,
      replayLimit: env.SSE_REPLAY_LIMIT ?? 500,
      sessionRecheckS: env.SSE_SESSION_RECHECK_S ?? 10,
    },
    sessionCleanupIntervalS: env.SESSION_CLEANUP_INTERVAL_S ?? 600,
    graphql: {
      maxDepth: env.GRAPHQL_MAX_DEPTH ?? 10,
      maxComplexity: env.GRAPHQL_MAX_COMPLEXITY ?? 5000,
    },
    rateLimits: {
      loginIp: parseRate(env.RATE_LIMIT_LOGIN_IP, '20/60'),
      loginEmailIp: parseRate(env.RATE_LIMIT_LOGIN_EMAIL_IP, '5/300'),
      loginEmail: parseRate(env.RATE_LIMIT_LOGIN_EMAIL, '100/3600'),
      registerIp: parseRate(env.RATE_LIMIT_REGISTER_IP, '10/3600'),
      forgotEmail: parseRate(env.RATE_LIMIT_FORGOT_EMAIL, '3/3600'),
      changePasswordSession: parseRate(env.RATE_LIMIT_CHANGE_PASSWORD_SESSION, '5/900'),
      phoneUser: parseRate(env.RATE_LIMIT_PHONE_USER, '5/3600'),
      ticketSession: parseRate(env.RATE_LIMIT_TICKET_SESSION, '30/60'),
      followAuthor: parseRate(env.RATE_LIMIT_FOLLOW_AUTHOR, '30/60'),
      shoutAuthor: parseRate(env.RATE_LIMIT_SHOUT_AUTHOR, '10/60'),
      oauthStartIp: parseRate(env.RATE_LIMIT_OAUTH_START_IP, '30/60'),
    },
    connect: {
      port: env.CONNECT_PORT ?? 3001,
      corsOrigins: env.CONNECT_CORS_ORIGINS
        ? parseOrigins(env.CONNECT_CORS_ORIGINS, 'CONNECT_CORS_ORIGINS')
        : parseOrigins(env.CORS_ORIGINS),
    },
    admin: { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD },
  });
}

function validateEnvironment(raw: RawEnvironment): EnvironmentVariables {
  // Empty strings count as unset, as they do for most twelve-factor tools.
  const present = Object.fromEntries(
    Object.entries(raw).filter(([, value]) => value !== undefined && value !== ''),
  );
  const env = plainToInstance(EnvironmentVariables, present);
  const errors = validateSync(env, { skipMissingProperties: false });
  if (errors.length > 0) {
    throw new ConfigError(`Invalid configuration: ${errors.map(describeError).join('; ')}`);
  }
  return env;
}

function describeError(error: ValidationError): string {
  const messages = Object.values(error.constraints ?? {});
  return messages[0] ?? `${error.property} is invalid`;
}

function resolveJwtKeys(
  env: EnvironmentVariables,
  algorithm: AppConfig['jwt']['algorithm'],
  production: boolean,
  dataDir: string,
): Omit<AppConfig['jwt'], 'algorithm'> {
  const expirationHours = env.JWT_EXPIRATION_HOURS ?? 720;
  const publicKeys = (env.JWT_PUBLIC_KEYS ?? '')
    .split(/\n(?=-----BEGIN)|\|\|/)
    .map((key) => key.trim())
    .filter(Boolean);

  if (algorithm !== 'HS256') {
    if (!env.JWT_PRIVATE_KEY) {
      throw new ConfigError(`Invalid configuration: JWT_PRIVATE_KEY is required for ${algorithm}`);
    }
    return {
      privateKey: env.JWT_PRIVATE_KEY,
      publicKeys,
      expirationHours,
      secretSource: 'none',
    };
  }

  if (env.JWT_SECRET) {
    if (production) refuseWeakSecret(env.JWT_SECRET);
    return { secret: env.JWT_SECRET, publicKeys, expirationHours, secretSource: 'environment' };
  }
  if (production) {
    throw new ConfigError('Invalid configuration: JWT_SECRET is required when NODE_ENV=production');
  }
  return {
    secret: readOrCreateSecret(dataDir),
    publicKeys,
    expirationHours,
    secretSource: 'data-dir',
  };
}

/** Production signs sessions with JWT_SECRET: too short, a placeholder or easy to guess is refused. */
function refuseWeakSecret(secret: string): void {
  if (
    secret.length < MIN_PRODUCTION_SECRET_LENGTH ||
    PLACEHOLDER_SECRETS.some((placeholder) => secret.toLowerCase().includes(placeholder))
  ) {
    throw new ConfigError(
      `Invalid configuration: JWT_SECRET must be at least ${MIN_PRODUCTION_SECRET_LENGTH} characters and not a placeholder in production; ${GENERATE_SECRET_HINT}`,
    );
  }
  if (strengthEstimator().check(secret).guessesLog10 < MIN_PRODUCTION_SECRET_GUESSES_LOG10) {
    throw new ConfigError(
      `Invalid configuration: JWT_SECRET is too easy to guess (repeats, sequences or words) for production; ${GENERATE_SECRET_HINT}`,
    );
  }
}

let estimator: ZxcvbnFactory | undefined;

/** Built on first use (its dictionaries take a moment): only a production start needs it. */
function strengthEstimator(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({ dictionary: { ...dictionary }, graphs: adjacencyGraphs });
  return estimator;
}

/** Outside production a secret is generated once and kept in DATA_DIR, so sessions survive restarts. */
function readOrCreateSecret(dataDir: string): string {
  const file = join(dataDir, JWT_SECRET_FILE);
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored.length >= MIN_PRODUCTION_SECRET_LENGTH) return stored;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

function readProviders(
  raw: RawEnvironment,
): Partial<Record<OAuthProviderKey, OAuthProviderConfig>> {
  const providers: Partial<Record<OAuthProviderKey, OAuthProviderConfig>> = {};
  for (const key of OAUTH_PROVIDERS) {
    // Facebook also under the original platform's names (FACEBOOK_APP_ID / FACEBOOK_APP_SECRET).
    const clientId =
      raw[`${key}_CLIENT_ID`] || (key === 'FACEBOOK' ? raw.FACEBOOK_APP_ID : undefined);
    const clientSecret =
      raw[`${key}_CLIENT_SECRET`] || (key === 'FACEBOOK' ? raw.FACEBOOK_APP_SECRET : undefined);
    if (!clientId || !clientSecret) continue;
    providers[key] = {
      clientId,
      clientSecret,
      authorizationUrl: raw[`${key}_AUTHORIZATION_URL`] || undefined,
      tokenUrl: raw[`${key}_TOKEN_URL`] || undefined,
      userinfoUrl: raw[`${key}_USERINFO_URL`] || undefined,
    };
  }
  return providers;
}

function parseOrigins(value: string | undefined, variable = 'CORS_ORIGINS'): string[] {
  const origins = (value ?? '')
    .split(',')
    .map((origin) => stripTrailingSlash(origin.trim()))
    .filter(Boolean);
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(
        `Invalid configuration: ${variable} must be a comma-separated list of origins like https://app.example.com`,
      );
    }
  }
  return origins;
}

function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return value.trim();
}

function parseRate(value: string | undefined, fallback: string): RateLimit {
  const [limit, windowSeconds] = (value ?? fallback).split('/').map(Number);
  return { limit, windowSeconds };
}

function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
