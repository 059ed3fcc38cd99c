import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
} from 'class-validator';

export const OAUTH_PROVIDERS = ['GOOGLE', 'GITHUB', 'FACEBOOK', 'X', 'VK', 'YANDEX'] as const;
export type OAuthProviderKey = (typeof OAUTH_PROVIDERS)[number];

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};

/** A rate limit: `<requests>/<window seconds>`, e.g. `5/60`. */
const RATE = /^[1-9]\d{0,6}\/[1-9]\d{0,6}$/;
const RATE_MESSAGE = { message: '$property must look like <requests>/<seconds>, e.g. 5/60' };

const BOOL = { message: '$property must be true or false' };
const httpUrl = { require_tld: false, protocols: ['http', 'https'], require_protocol: true };

/**
 * The raw environment, as strings converted to the types below. Only this class and
 * `load-config.ts` read process.env; everything else receives the typed `AppConfig`.
 */
export class EnvironmentVariables {
  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be an integer from 0 to 65535' })
  @Min(0, { message: '$property must be an integer from 0 to 65535' })
  @Max(65535, { message: '$property must be an integer from 0 to 65535' })
  PORT?: number;

  @IsOptional()
  @IsIn(['development', 'production', 'test'], {
    message: '$property must be one of development, production, test',
  })
  NODE_ENV?: 'development' | 'production' | 'test';

  @IsOptional()
  @IsString()
  @MinLength(1)
  DATA_DIR?: string;

  @IsOptional()
  @IsUrl(
    { require_tld: false, protocols: ['postgres', 'postgresql'], require_protocol: true },
    { message: '$property must be a postgres:// or postgresql:// URL' },
  )
  DATABASE_URL?: string;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean(BOOL)
  DB_MIGRATIONS_RUN?: boolean;

  @IsOptional()
  @IsUrl(
    { require_tld: false, protocols: ['redis', 'rediss'], require_protocol: true },
    { message: '$property must be a redis:// or rediss:// URL' },
  )
  REDIS_URL?: string;

  @IsOptional()
  @Matches(/^[\w.:-]*$/, {
    message: '$property may only contain letters, digits and . _ : -',
  })
  REDIS_KEY_PREFIX?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be a whole number of milliseconds from 50 to 60000' })
  @Min(50, { message: '$property must be a whole number of milliseconds from 50 to 60000' })
  @Max(60000, { message: '$property must be a whole number of milliseconds from 50 to 60000' })
  REDIS_COMMAND_TIMEOUT_MS?: number;

  @IsOptional()
  @IsString()
  JWT_SECRET?: string;

  @IsOptional()
  @IsIn(['HS256', 'RS256', 'ES256'], { message: '$property must be one of HS256, RS256, ES256' })
  JWT_ALGORITHM?: 'HS256' | 'RS256' | 'ES256';

  @IsOptional()
  @IsIn(['off', 'migrate'], { message: '$property must be one of off, migrate' })
  LEGACY_SESSIONS?: 'off' | 'migrate';

  @IsOptional()
  @IsIn(['base64', 'hex'], { message: '$property must be one of base64, hex' })
  PASSWORD_PREHASH?: 'base64' | 'hex';

  @IsOptional()
  @IsString()
  JWT_PRIVATE_KEY?: string;

  @IsOptional()
  @IsString()
  JWT_PUBLIC_KEYS?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be a whole number of hours from 1 to 8760' })
  @Min(1, { message: '$property must be a whole number of hours from 1 to 8760' })
  @Max(8760, { message: '$property must be a whole number of hours from 1 to 8760' })
  JWT_EXPIRATION_HOURS?: number;

  @IsOptional()
  @Matches(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { message: '$property must be a valid cookie name' })
  SESSION_COOKIE_NAME?: string;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean(BOOL)
  SESSION_COOKIE_SECURE?: boolean;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean(BOOL)
  SESSION_COOKIE_HTTPONLY?: boolean;

  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() : value,
  )
  @IsIn(['lax', 'strict', 'none'], { message: '$property must be one of lax, strict, none' })
  SESSION_COOKIE_SAMESITE?: 'lax' | 'strict' | 'none';

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be a positive number of seconds' })
  @Min(1, { message: '$property must be a positive number of seconds' })
  SESSION_COOKIE_MAX_AGE?: number;

  @IsOptional()
  @Matches(/^\.?[a-z0-9.-]+$/i, { message: '$property must be a domain name' })
  SESSION_COOKIE_DOMAIN?: string;

  @IsOptional()
  @IsUrl(httpUrl, { message: '$property must be an http(s) URL' })
  FRONTEND_URL?: string;

  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be an integer from 4 to 15' })
  @Min(4, { message: '$property must be an integer from 4 to 15' })
  @Max(15, { message: '$property must be an integer from 4 to 15' })
  BCRYPT_ROUNDS?: number;

  @IsOptional()
  @IsUrl(
    { require_tld: false, protocols: ['smtp', 'smtps'], require_protocol: true },
    { message: '$property must be an smtp:// or smtps:// URL' },
  )
  SMTP_URL?: string;

  @IsOptional()
  @IsString()
  MAIL_FROM?: string;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean(BOOL)
  MAIL_ALLOW_LOG_TRANSPORT?: boolean;

  @IsOptional()
  @IsString()
  @MinLength(16, { message: '$property must be at least 16 characters' })
  METRICS_TOKEN?: string;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean(BOOL)
  DOCS_ENABLED?: boolean;

  @IsOptional()
  @IsString()
  TELEGRAM_BOT_TOKEN?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be a positive number of seconds' })
  @Min(1, { message: '$property must be a positive number of seconds' })
  TELEGRAM_AUTH_MAX_AGE_S?: number;

  @IsOptional()
  @IsUrl(httpUrl, { message: '$property must be an http(s) URL' })
  OAUTH_CALLBACK_BASE_URL?: string;

  @IsOptional()
  @IsUrl(httpUrl, { message: '$property must be an http(s) URL' })
  TELEGRAM_AUTHORIZATION_URL?: string;

  /** The original platform's names for FACEBOOK_CLIENT_ID / FACEBOOK_CLIENT_SECRET. */
  @IsOptional()
  @IsString()
  FACEBOOK_APP_ID?: string;

  @IsOptional()
  @IsString()
  FACEBOOK_APP_SECRET?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be an integer from 0 to 65535' })
  @Min(0, { message: '$property must be an integer from 0 to 65535' })
  @Max(65535, { message: '$property must be an integer from 0 to 65535' })
  CONNECT_PORT?: number;

  @IsOptional()
  @IsString()
  CONNECT_CORS_ORIGINS?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be a positive number of seconds' })
  @Min(1, { message: '$property must be a positive number of seconds' })
  SSE_HEARTBEAT_S?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be a positive number of seconds' })
  @Min(1, { message: '$property must be a positive number of seconds' })
  SSE_MAX_LIFETIME_S?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be a positive integer' })
  @Min(1, { message: '$property must be a positive integer' })
  SSE_MAX_PER_USER?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be a positive number of seconds' })
  @Min(1, { message: '$property must be a positive number of seconds' })
  SSE_TICKET_TTL_S?: number;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean(BOOL)
  SSE_TICKET_BIND_IP?: boolean;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be an integer from 0 to 10000' })
  @Min(0, { message: '$property must be an integer from 0 to 10000' })
  @Max(10000, { message: '$property must be an integer from 0 to 10000' })
  SSE_REPLAY_LIMIT?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be a whole number of seconds from 1 to 30' })
  @Min(1, { message: '$property must be a whole number of seconds from 1 to 30' })
  @Max(30, { message: '$property must be a whole number of seconds from 1 to 30' })
  SSE_SESSION_RECHECK_S?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be a whole number of seconds from 10 to 86400' })
  @Min(10, { message: '$property must be a whole number of seconds from 10 to 86400' })
  @Max(86400, { message: '$property must be a whole number of seconds from 10 to 86400' })
  SESSION_CLEANUP_INTERVAL_S?: number;

  @IsOptional()
  @IsEmail({}, { message: '$property must be an email address' })
  ADMIN_EMAIL?: string;

  @IsOptional()
  @IsString()
  @MinLength(8, { message: '$property must be at least 8 characters' })
  ADMIN_PASSWORD?: string;

  @IsOptional()
  @Matches(/^(true|false|\d+|[\w.:/, -]+)$/i, {
    message: '$property must be true, false, a hop count or a list of addresses/subnets',
  })
  TRUST_PROXY?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be an integer from 1 to 50' })
  @Min(1, { message: '$property must be an integer from 1 to 50' })
  @Max(50, { message: '$property must be an integer from 1 to 50' })
  GRAPHQL_MAX_DEPTH?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: '$property must be an integer from 10 to 1000000' })
  @Min(10, { message: '$property must be an integer from 10 to 1000000' })
  @Max(1_000_000, { message: '$property must be an integer from 10 to 1000000' })
  GRAPHQL_MAX_COMPLEXITY?: number;

  @IsOptional()
  @Matches(RATE, RATE_MESSAGE)
  RATE_LIMIT_LOGIN_IP?: string;

  @IsOptional()
  @Matches(RATE, RATE_MESSAGE)
  RATE_LIMIT_LOGIN_EMAIL_IP?: string;

  @IsOptional()
  @Matches(RATE, RATE_MESSAGE)
  RATE_LIMIT_LOGIN_EMAIL?: string;

  @IsOptional()
  @Matches(RATE, RATE_MESSAGE)
  RATE_LIMIT_CHANGE_PASSWORD_SESSION?: string;

  @IsOptional()
  @Matches(RATE, RATE_MESSAGE)
  RATE_LIMIT_FOLLOW_AUTHOR?: string;

  @IsOptional()
  @Matches(RATE, RATE_MESSAGE)
  RATE_LIMIT_SHOUT_AUTHOR?: string;

  @IsOptional()
  @Matches(RATE, RATE_MESSAGE)
  RATE_LIMIT_OAUTH_START_IP?: string;

  @IsOptional()
  @Matches(RATE, RATE_MESSAGE)
  RATE_LIMIT_REGISTER_IP?: string;

  @IsOptional()
  @Matches(RATE, RATE_MESSAGE)
  RATE_LIMIT_FORGOT_EMAIL?: string;

  @IsOptional()
  @Matches(RATE, RATE_MESSAGE)
  RATE_LIMIT_PHONE_USER?: string;

  @IsOptional()
  @Matches(RATE, RATE_MESSAGE)
  RATE_LIMIT_TICKET_SESSION?: string;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: '$property must be one of fatal, error, warn, info, debug, trace, silent',
  })
  LOG_LEVEL?: string;
}

/** Per-provider OAuth settings (`GOOGLE_CLIENT_ID`, …), declared in a loop to stay in step with the list. */
const OAUTH_PROVIDER_SUFFIXES = [
  'CLIENT_ID',
  'CLIENT_SECRET',
  'AUTHORIZATION_URL',
  'TOKEN_URL',
  'USERINFO_URL',
] as const;

for (const provider of OAUTH_PROVIDERS) {
  for (const suffix of OAUTH_PROVIDER_SUFFIXES) {
    const property = `${provider}_${suffix}`;
    const target = EnvironmentVariables.prototype;
    IsOptional()(target, property);
    if (suffix.endsWith('_URL')) {
      IsUrl(httpUrl, { message: '$property must be an http(s) URL' })(target, property);
    } else {
      IsString()(target, property);
    }
  }
}
