import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AppConfig, type JwtAlgorithm } from '../config/app-config';
import { ConfigError } from '../config/load-config';

/** The payload of a session JWT, exactly as signed (README, "Tokens"). */
export type SessionClaims = {
  readonly user_id: number;
  readonly username: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
};

/**
 * The payload of a token issued by the original platform's auth service (docs/CUT-OVER.md): HS256
 * under the shared JWT_SECRET, and no `jti`.
 */
export type OriginalClaims = {
  readonly user_id: number;
  readonly username: string;
  readonly iat: number;
  readonly exp: number;
};

export interface SignOptions {
  /** Lifetime from `issuedAt`; defaults to `JWT_EXPIRATION_HOURS`. */
  readonly expiresInSeconds?: number;
  /** Epoch seconds; defaults to now. */
  readonly issuedAt?: number;
}

/** A session JWT is about 300 bytes; anything this long is refused before any parsing or crypto. */
export const MAX_TOKEN_LENGTH = 8 * 1024;

/** Tolerated clock difference between instances, applied to `exp`, `iat` and `nbf`. */
export const CLOCK_SKEW_SECONDS = 5;

const MIN_RSA_BITS = 2048;
const SEGMENT = /^[A-Za-z0-9_-]+$/;
/**
 * Header members that carry or point to a key (RFC 7515 §4.1). We never issue them and always take
 * the key from our own list, so a token that has one is someone's attempt to choose its own key.
 */
const KEY_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256'];

/** What an asymmetric algorithm needs from a key, and how its JWK is reduced for RFC 7638. */
const ASYMMETRIC = {
  RS256: { keyType: 'rsa', curve: undefined, described: 'rsa keys', members: ['e', 'kty', 'n'] },
  ES256: {
    keyType: 'ec',
    curve: 'prime256v1',
    described: 'P-256 EC keys',
    members: ['crv', 'kty', 'x', 'y'],
  },
} as const;

type AsymmetricAlgorithm = keyof typeof ASYMMETRIC;

/**
 * Signs and verifies session JWTs; the only place that does. The signature itself is
 * `@nestjs/jwt` (jsonwebtoken); this class pins what the library leaves open and checks what it does
 * not (README, "Tokens"). Keys become KeyObjects once, here: handed a string secret, jsonwebtoken
 * re-derives the key on every call (~0.4 ms per verify). One JwtService per verification key, built
 * at start, because the key is chosen by `kid` and the library takes one key per service.
 */
@Injectable()
export class JwtCodec {
  private readonly algorithm: JwtAlgorithm;
  private readonly lifetimeSeconds: number;
  private readonly signer: JwtService;
  /** HS256: the one secret, whatever the header says; RS256/ES256: the service of the header's `kid`. */
  private readonly verifierFor: (kid: unknown) => JwtService | undefined;
  /** Public keys by `kid`: the signing key's own plus `JWT_PUBLIC_KEYS` (older keys, for rotation). */
  private readonly verifiers = new Map<string, JwtService>();
  private readonly publicJwks: JsonWebKey[] = [];
  /**
   * With LEGACY_SESSIONS=migrate only: HS256 under JWT_SECRET, whatever the configured algorithm,
   * for the original service's tokens.
   */
  private readonly original?: JwtService;

  constructor(config: AppConfig) {
    const { algorithm, secret, privateKey, publicKeys, expirationHours, originalSecret } =
      config.jwt;
    this.algorithm = algorithm;
    this.lifetimeSeconds = expirationHours * 3600;
    // The algorithm list is what stops `alg: none` and key confusion inside the library; the header
    // check in verifyCompact() refuses them before it is reached.
    const verifyOptions = { algorithms: [algorithm], clockTolerance: CLOCK_SKEW_SECONDS };
    if (originalSecret) {
      this.original = new JwtService({
        secret: createSecretKey(Buffer.from(originalSecret, 'utf8')),
        verifyOptions: { algorithms: ['HS256'], clockTolerance: CLOCK_SKEW_SECONDS },
      });
    }

    if (algorithm === 'HS256') {
      if (!secret) throw new ConfigError('Invalid configuration: JWT_SECRET is required for HS256');
      const hmac = new JwtService({
        secret: createSecretKey(Buffer.from(secret, 'utf8')),
        signOptions: { algorithm },
        verifyOptions,
      });
      this.signer = hmac;
      this.verifierFor = () => hmac;
      return;
    }

    if (!privateKey) {
      throw new ConfigError(`Invalid configuration: JWT_PRIVATE_KEY is required for ${algorithm}`);
    }
    const signingKey = parseKey(algorithm, 'JWT_PRIVATE_KEY', () => createPrivateKey(privateKey));
    const kid = this.addVerificationKey(algorithm, createPublicKey(signingKey), verifyOptions);
    for (const pem of publicKeys) {
      const key = parseKey(algorithm, 'JWT_PUBLIC_KEYS', () => createPublicKey(pem));
      this.addVerificationKey(algorithm, key, verifyOptions);
    }
    this.signer = new JwtService({
      privateKey: signingKey,
      signOptions: { algorithm, keyid: kid },
    });
    this.verifierFor = (headerKid) =>
      typeof headerKid === 'string' ? this.verifiers.get(headerKid) : undefined;
  }

  sign(
    claims: { user_id: number; username: string; jti: string },
    options: SignOptions = {},
  ): string {
    const iat = options.issuedAt ?? Math.floor(Date.now() / 1000);
    const exp = iat + (options.expiresInSeconds ?? this.lifetimeSeconds);
    const payload: SessionClaims = {
      user_id: claims.user_id,
      username: claims.username,
      iat,
      exp,
      jti: claims.jti,
    };
    // Signing something verify() would refuse is a caller bug; fail loudly instead of minting it.
    if (!hasSessionShape(payload) || !Number.isSafeInteger(iat) || !(exp > iat)) {
      throw new Error('JwtCodec.sign: invalid claims or lifetime');
    }
    return this.signer.sign(payload);
  }

  /** The claims of a valid session JWT, or null. Never throws, whatever `token` is. */
  verify(token: unknown): SessionClaims | null {
    const claims = this.verifyWith(token, this.algorithm, this.verifierFor);
    if (!claims || !hasSessionShape(claims)) return null;
    const { user_id, username, iat, exp, jti } = claims;
    return { user_id, username, iat, exp, jti };
  }

  /**
   * The claims of a valid token of the original service (HS256 under JWT_SECRET, the same header,
   * signature and time checks, no `jti`), or null; always null unless LEGACY_SESSIONS=migrate.
   * Never throws.
   */
  verifyOriginal(
    token: unknown,
    options: { ignoreExpiration?: boolean } = {},
  ): OriginalClaims | null {
    const original = this.original;
    if (!original) return null;
    const claims = this.verifyWith(token, 'HS256', () => original, options.ignoreExpiration);
    if (!claims || claims.jti !== undefined || !hasSessionShape({ ...claims, jti: '-' })) {
      return null;
    }
    const { user_id, username, iat, exp } = claims as OriginalClaims;
    return { user_id, username, iat, exp };
  }

  /** The verified payload, or null. Never throws, whatever `token` is. */
  private verifyWith(
    token: unknown,
    algorithm: JwtAlgorithm,
    verifierFor: (kid: unknown) => JwtService | undefined,
    ignoreExpiration = false,
  ): Record<string, unknown> | null {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return null;
    try {
      return this.verifyCompact(token, algorithm, verifierFor, ignoreExpiration);
    } catch {
      return null;
    }
  }

  /** Public keys for `/.well-known/jwks.json`; empty for HS256, whose secret must never leave. */
  jwks(): { keys: JsonWebKey[] } {
    return { keys: this.publicJwks.map((jwk) => ({ ...jwk })) };
  }

  /** Throws for anything jsonwebtoken refuses; verifyWith() turns that into null. */
  private verifyCompact(
    token: string,
    algorithm: JwtAlgorithm,
    verifierFor: (kid: unknown) => JwtService | undefined,
    ignoreExpiration: boolean,
  ): Record<string, unknown> | null {
    const segments = token.split('.');
    // An empty signature (`alg: none` style) or any non-base64url character fails here.
    if (segments.length !== 3 || !segments.every((segment) => SEGMENT.test(segment))) return null;
    const [headerSegment, , signatureSegment] = segments;

    const header = decodeJson(headerSegment);
    if (!header || header.alg !== algorithm) return null;
    // `crit` names extensions (e.g. unencoded payloads) that jsonwebtoken ignores: we must refuse.
    if (header.crit !== undefined) return null;
    if (
      header.typ !== undefined &&
      (typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT')
    ) {
      return null;
    }
    if (KEY_HEADERS.some((name) => header[name] !== undefined)) return null;
    // jsonwebtoken decodes RSA and ECDSA signatures leniently (spare bits of the last character);
    // one token string per signature keeps a signed token from having other spellings.
    if (Buffer.from(signatureSegment, 'base64url').toString('base64url') !== signatureSegment) {
      return null;
    }
    const verifier = verifierFor(header.kid);
    if (!verifier) return null;

    const payload: unknown = verifier.verify(token, { ignoreExpiration });
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
    const claims = payload as Record<string, unknown>;
    if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number') return null;
    // jsonwebtoken compares whole seconds and never looks at a future `iat`: checked to the
    // millisecond here, with the same tolerance.
    const now = Date.now() / 1000;
    if (!ignoreExpiration && now >= claims.exp + CLOCK_SKEW_SECONDS) return null;
    if (claims.iat > now + CLOCK_SKEW_SECONDS) return null;
    if (
      claims.nbf !== undefined &&
      !(typeof claims.nbf === 'number' && claims.nbf <= now + CLOCK_SKEW_SECONDS)
    ) {
      return null;
    }
    return claims;
  }

  private addVerificationKey(
    algorithm: AsymmetricAlgorithm,
    key: KeyObject,
    verifyOptions: { algorithms: JwtAlgorithm[]; clockTolerance: number },
  ): string {
    const jwk = key.export({ format: 'jwk' });
    const kid = thumbprint(algorithm, jwk);
    if (!this.verifiers.has(kid)) {
      this.verifiers.set(kid, new JwtService({ publicKey: key, verifyOptions }));
      this.publicJwks.push({ ...jwk, kid, alg: algorithm, use: 'sig' });
    }
    return kid;
  }
}

/** Parses a key and checks it suits the algorithm; errors name the variable, never the key. */
function parseKey(
  algorithm: AsymmetricAlgorithm,
  variable: string,
  parse: () => KeyObject,
): KeyObject {
  let key: KeyObject;
  try {
    key = parse();
  } catch {
    throw new ConfigError(`Invalid configuration: ${variable} is not a readable PEM key`);
  }
  const { keyType, curve, described } = ASYMMETRIC[algorithm];
  if (
    key.asymmetricKeyType !== keyType ||
    (curve !== undefined && key.asymmetricKeyDetails?.namedCurve !== curve)
  ) {
    throw new ConfigError(
      `Invalid configuration: ${variable} must be ${described} for ${algorithm}`,
    );
  }
  if (keyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new ConfigError(
      `Invalid configuration: ${variable} must be RSA keys of at least ${MIN_RSA_BITS} bits`,
    );
  }
  return key;
}

/** RFC 7638: SHA-256 over the required members, in lexicographic order, without whitespace. */
function thumbprint(algorithm: AsymmetricAlgorithm, jwk: JsonWebKey): string {
  const { members } = ASYMMETRIC[algorithm];
  const canonical = `{${members.map((name) => `"${name}":${JSON.stringify(jwk[name])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

function hasSessionShape(
  claims: Record<string, unknown>,
): claims is Record<string, unknown> & SessionClaims {
  return (
    typeof claims.user_id === 'number' &&
    Number.isSafeInteger(claims.user_id) &&
    claims.user_id > 0 &&
    typeof claims.username === 'string' &&
    typeof claims.jti === 'string' &&
    claims.jti.length > 0 &&
    typeof claims.iat === 'number' &&
    Number.isFinite(claims.iat) &&
    typeof claims.exp === 'number' &&
    Number.isFinite(claims.exp)
  );
}

/**
 * A JSON object from a base64url segment, or null for arrays and primitives (not JOSE objects).
 * Throws on malformed JSON; verify() turns that into null.
 */
function decodeJson(segment: string): Record<string, unknown> | null {
  const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}
