import { createHmac } from 'node:crypto';
import type { TestApp } from '../support/test-app';

// Session tokens as an attacker makes them: claims read out of a genuine token, re-encoded,
// re-signed with a guessed secret or (for tokens the app itself could have issued) with its own.

export interface Claims {
  user_id: number;
  username: string;
  iat: number;
  exp: number;
  jti: string;
}

/** A JWT segment: base64url of the JSON. */
export const segment = (value: object) =>
  Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

export const claimsOf = (jwt: string): Claims =>
  JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export function hs256(
  secret: string,
  claims: object,
  header: object = { alg: 'HS256', typ: 'JWT' },
): string {
  const input = `${segment(header)}.${segment(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input, 'utf8').digest('base64url')}`;
}

/** The test app's JWT secret (generated under its DATA_DIR), for tokens the app itself could have issued. */
export function appSecret(t: TestApp): string {
  const { secret } = t.config.jwt;
  if (!secret) throw new Error('the attack rows expect the HS256 test configuration');
  return secret;
}
