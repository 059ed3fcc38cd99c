import type { OAuthProviderKey } from './environment.schema';

export type NodeEnv = 'development' | 'production' | 'test';
/** EdDSA is not offered: jsonwebtoken, under @nestjs/jwt, has none (README, "Tokens"). */
export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256';
export type SameSite = 'lax' | 'strict' | 'none';

/** `limit` requests per `windowSeconds`; the caller is then refused for one window. */
export interface RateLimit {
  readonly limit: number;
  readonly windowSeconds: number;
}

export type RateLimitName =
  | 'loginIp'
  | 'loginEmailIp'
  | 'loginEmail'
  | 'registerIp'
  | 'forgotEmail'
  | 'changePasswordSession'
  | 'phoneUser'
  | 'ticketSession'
  | 'followAuthor'
  | 'shoutAuthor'
  | 'oauthStartIp';

export interface OAuthProviderConfig {
  clientId: string;
  clientSecret: string;
  authorizationUrl?: string;
  tokenUrl?: string;
  userinfoUrl?: string;
}

/**
 * The validated, typed configuration. Injected by class token: `constructor(private config: AppConfig)`.
 * Built once by `loadConfig()`; never mutated.
 */
export abstract class AppConfig {
  abstract readonly env: NodeEnv;
  abstract readonly port: number;
  abstract readonly dataDir: string;
  abstract readonly logLevel: string;
  abstract readonly trustProxy: boolean | number | string;
  abstract readonly database: { readonly url?: string; readonly migrationsRun: boolean };
  abstract readonly redis: {
    readonly url?: string;
    readonly keyPrefix: string;
    /** REDIS_COMMAND_TIMEOUT_MS; the driver's 2000 when unset. */
    readonly commandTimeoutMs?: number;
  };
  abstract readonly jwt: {
    readonly algorithm: JwtAlgorithm;
    readonly secret?: string;
    readonly secretSource: 'environment' | 'data-dir' | 'none';
    readonly privateKey?: string;
    readonly publicKeys: readonly string[];
    readonly expirationHours: number;
    /** With LEGACY_SESSIONS=migrate: JWT_SECRET, which verifies the original service's HS256 tokens. */
    readonly originalSecret?: string;
  };
  abstract readonly cookie: {
    readonly name: string;
    readonly secure: boolean;
    readonly httpOnly: boolean;
    readonly sameSite: SameSite;
    readonly maxAgeSeconds: number;
    readonly domain?: string;
  };
  abstract readonly frontendUrl: string;
  /** The demo page (`web/`) and its compiled scripts (`dist/web/`), served at /demo. */
  abstract readonly demo: { readonly pageDir: string; readonly scriptDir: string };
  abstract readonly corsOrigins: readonly string[];
  abstract readonly bcryptRounds: number;
  /**
   * PASSWORD_PREHASH: how a password longer than bcrypt's 72 bytes is pre-hashed, SHA-256 then this
   * encoding of the digest; it must match the original service's while both share the database.
   */
  abstract readonly passwordPrehash: 'base64' | 'hex';
  /** LEGACY_SESSIONS: accept and migrate the original service's sessions (docs/CUT-OVER.md). */
  abstract readonly legacySessions: 'off' | 'migrate';
  abstract readonly mail: {
    readonly smtpUrl?: string;
    readonly from: string;
    /** MAIL_ALLOW_LOG_TRANSPORT: production may use the log transport only when this is set. */
    readonly allowLogTransport: boolean;
  };
  /** `/metrics`: open outside production unless METRICS_TOKEN is set; in production it needs the token. */
  abstract readonly metrics: { readonly token?: string };
  /** `/docs` (OpenAPI): on outside production; in production only with DOCS_ENABLED. */
  abstract readonly docs: { readonly enabled: boolean };
  abstract readonly oauth: {
    readonly callbackBaseUrl?: string;
    readonly providers: Readonly<Partial<Record<OAuthProviderKey, OAuthProviderConfig>>>;
    readonly telegramBotToken?: string;
    /** Telegram's sign-in page (TELEGRAM_AUTHORIZATION_URL), for tests and proxies. */
    readonly telegramAuthorizationUrl?: string;
    /** TELEGRAM_AUTH_MAX_AGE_S: how old a Telegram login widget's `auth_date` may be, in seconds. */
    readonly telegramMaxAgeS: number;
  };
  abstract readonly sse: {
    readonly heartbeatS: number;
    readonly maxLifetimeS: number;
    readonly maxPerUser: number;
    readonly ticketTtlS: number;
    readonly ticketBindIp: boolean;
    readonly replayLimit: number;
    /** SSE_SESSION_RECHECK_S: how often each instance re-checks its open streams' sessions. */
    readonly sessionRecheckS: number;
  };
  /** SESSION_CLEANUP_INTERVAL_S: how often one instance prunes dead ids from session lists. */
  abstract readonly sessionCleanupIntervalS: number;
  abstract readonly graphql: { readonly maxDepth: number; readonly maxComplexity: number };
  abstract readonly rateLimits: Readonly<Record<RateLimitName, RateLimit>>;
  /** The standalone connect process (`npm run start:connect`): its port and its own CORS list. */
  abstract readonly connect: { readonly port: number; readonly corsOrigins: readonly string[] };
  abstract readonly admin: { readonly email?: string; readonly password?: string };
}
