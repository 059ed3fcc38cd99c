import {
  createHash,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as signBytes,
  verify as verifyBytes,
  type KeyObject,
} from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type RawEnvironment } from '../config/load-config';
import { CLOCK_SKEW_SECONDS, JwtCodec, MAX_TOKEN_LENGTH } from './jwt-codec.service';

const dataDir = mkdtempSync(join(tmpdir(), 'tessera-jwt-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const codecFor = (env: RawEnvironment) => new JwtCodec(loadConfig({ DATA_DIR: dataDir, ...env }));

const pem = (key: KeyObject): string =>
  key.export({ format: 'pem', type: key.type === 'private' ? 'pkcs8' : 'spki' }).toString();
const rsaPair = () => generateKeyPairSync('rsa', { modulusLength: 2048 });

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const rsa = rsaPair();
const rsaOld = rsaPair();
const rsaUnlisted = rsaPair();
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecUnlisted = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');

const hs = codecFor({ JWT_SECRET: SECRET });
const rs = codecFor({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: pem(rsa.privateKey) });
const es = codecFor({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: pem(ec.privateKey) });

const claims = { user_id: 42, username: 'ada', jti: 'session-1' };
const now = () => Math.floor(Date.now() / 1000);

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const segments = (token: string) => token.split('.');
const decode = (segment: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
const validPayload = () => ({ ...claims, iat: now(), exp: now() + 3600 });

/** What an attacker who knows (or guesses) the HMAC secret can mint. */
function forgeHs256(payload: unknown, secret: string | Buffer = SECRET, header: unknown = null) {
  const input = `${b64(header ?? { alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** JWS signing input signed with any key: RSA PKCS#1 v1.5, ECDSA as JOSE's r‖s, or Ed25519. */
function signWith(privateKey: KeyObject, header: unknown, payload: unknown) {
  const input = `${b64(header)}.${b64(payload)}`;
  const digest = privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  const key = { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
  return `${input}.${signBytes(digest, Buffer.from(input), key).toString('base64url')}`;
}

describe('JwtCodec', () => {
  describe.each([
    ['HS256', hs],
    ['RS256', rs],
    ['ES256', es],
  ])('%s', (algorithm, codec) => {
    it('round-trips the session claims', () => {
      const token = codec.sign(claims);
      const verified = codec.verify(token);
      expect(verified).toEqual({ ...claims, iat: expect.any(Number), exp: expect.any(Number) });
      expect(verified!.exp - verified!.iat).toBe(720 * 3600);
    });

    it('signs exactly {user_id, username, iat, exp, jti} with the configured alg', () => {
      const token = codec.sign(claims, { issuedAt: 1_900_000_000, expiresInSeconds: 60 });
      const [header, payload] = segments(token);
      expect(Object.keys(decode(payload))).toEqual(['user_id', 'username', 'iat', 'exp', 'jti']);
      expect(decode(payload)).toEqual({ ...claims, iat: 1_900_000_000, exp: 1_900_000_060 });
      expect(decode(header)).toEqual(
        algorithm === 'HS256'
          ? { alg: 'HS256', typ: 'JWT' }
          : { alg: algorithm, typ: 'JWT', kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) },
      );
    });
  });

  it('uses a fresh iat by default and honours issuedAt and expiresInSeconds', () => {
    const before = now();
    const payload = decode(segments(hs.sign(claims))[1]);
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.iat).toBeLessThanOrEqual(now());
    expect(hs.verify(hs.sign(claims, { issuedAt: now() - 100, expiresInSeconds: 200 }))).toEqual({
      ...claims,
      iat: now() - 100,
      exp: now() + 100,
    });
  });

  it('returns only the session claims of a well-signed token that carries more', () => {
    const token = forgeHs256({ ...validPayload(), role: 'admin' });
    expect(hs.verify(token)).toEqual(validPayloadShape());
  });

  it('honours JWT_EXPIRATION_HOURS', () => {
    const codec = codecFor({ JWT_SECRET: SECRET, JWT_EXPIRATION_HOURS: '2' });
    const { iat, exp } = codec.verify(codec.sign(claims))!;
    expect(exp - iat).toBe(7200);
  });

  it('refuses to sign claims that verify() would refuse', () => {
    for (const bad of [
      { ...claims, user_id: 0 },
      { ...claims, user_id: 1.5 },
      { ...claims, jti: '' },
      { ...claims, username: 7 as unknown as string },
    ]) {
      expect(() => hs.sign(bad)).toThrow('invalid claims');
    }
    expect(() => hs.sign(claims, { expiresInSeconds: 0 })).toThrow('invalid claims');
  });

  it(`tolerates ${CLOCK_SKEW_SECONDS} s of clock skew on exp, and no more`, () => {
    const justExpired = hs.sign(claims, { issuedAt: now() - 100, expiresInSeconds: 98 });
    expect(hs.verify(justExpired)).not.toBeNull();
    const expired = hs.sign(claims, { issuedAt: now() - 100, expiresInSeconds: 90 });
    expect(hs.verify(expired)).toBeNull();
  });

  it(`accepts any well-signed token up to ${MAX_TOKEN_LENGTH} characters`, () => {
    const padded = (length: number) => {
      const base = forgeHs256({ ...validPayload(), pad: '' }).length;
      return forgeHs256({
        ...validPayload(),
        pad: 'x'.repeat(Math.floor(((length - base) * 3) / 4)),
      });
    };
    const under = padded(MAX_TOKEN_LENGTH - 10);
    expect(under.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect(hs.verify(under)).not.toBeNull();
    const over = padded(MAX_TOKEN_LENGTH + 10);
    expect(over.length).toBeGreaterThan(MAX_TOKEN_LENGTH);
    expect(hs.verify(over)).toBeNull();
  });

  describe('attacks', () => {
    const rsKid = () => decode(segments(rs.sign(claims))[0]).kid;
    const esKid = () => decode(segments(es.sign(claims))[0]).kid;
    /** An attacker's own key, offered in the header in the ways RFC 7515 allows. */
    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const attackerJwk = attacker.publicKey.export({ format: 'jwk' });
    const withSignatureOf = (token: string, donor: string) =>
      `${segments(token).slice(0, 2).join('.')}.${segments(donor)[2]}`;
    const tamper = (token: string) => {
      const [header, , signature] = segments(token);
      return `${header}.${b64({ ...decode(segments(token)[1]), user_id: 1 })}.${signature}`;
    };
    const noneToken = (signature: string) =>
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64(validPayload())}.${signature}`;
    // Same bytes, other spelling: the last base64url character of a 32-byte MAC carries 2 spare bits.
    const respell = (token: string) => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(token.at(-1)!);
      return token.slice(0, -1) + alphabet[last ^ 1];
    };

    it.each<[string, () => JwtCodec, () => unknown]>([
      ['alg none, empty signature', () => hs, () => noneToken('')],
      ['alg none, signature kept', () => hs, () => noneToken(segments(hs.sign(claims))[2])],
      ['alg none against RS256', () => rs, () => noneToken('')],
      ['alg None (case games)', () => hs, () => `${b64({ alg: 'None' })}.${b64(validPayload())}.`],
      [
        'HS256 forged with the RS256 public PEM as HMAC secret',
        () => rs,
        () => forgeHs256(validPayload(), pem(rsa.publicKey), { alg: 'HS256', kid: rsKid() }),
      ],
      [
        'HS256 forged with the RS256 public key DER as HMAC secret',
        () => rs,
        () =>
          forgeHs256(validPayload(), rsa.publicKey.export({ format: 'der', type: 'spki' }), {
            alg: 'HS256',
          }),
      ],
      ['tampered payload, HS256', () => hs, () => tamper(hs.sign(claims))],
      ['tampered payload, RS256', () => rs, () => tamper(rs.sign(claims))],
      ['tampered payload, ES256', () => es, () => tamper(es.sign(claims))],
      [
        'signature of another token',
        () => hs,
        () => withSignatureOf(hs.sign(claims), forgeHs256({})),
      ],
      ['same MAC, other spelling', () => hs, () => respell(hs.sign(claims))],
      ['same RS256 signature, other spelling', () => rs, () => respell(rs.sign(claims))],
      ['same ES256 signature, other spelling', () => es, () => respell(es.sign(claims))],
      [
        'ES256 signature in DER instead of r‖s',
        () => es,
        () => {
          const input = segments(es.sign(claims)).slice(0, 2).join('.');
          return `${input}.${signBytes('sha256', Buffer.from(input), ec.privateKey).toString('base64url')}`;
        },
      ],
      [
        'ES256 signature with a byte cut off',
        () => es,
        () => {
          const [header, payload, signature] = segments(es.sign(claims));
          const cut = Buffer.from(signature, 'base64url').subarray(0, 63).toString('base64url');
          return `${header}.${payload}.${cut}`;
        },
      ],
      [
        'alg none header over a valid MAC',
        () => hs,
        () => forgeHs256(validPayload(), SECRET, { alg: 'none', typ: 'JWT' }),
      ],
      [
        'alg HS512 header over a valid HS256 MAC',
        () => hs,
        () => forgeHs256(validPayload(), SECRET, { alg: 'HS512', typ: 'JWT' }),
      ],
      [
        'alg EdDSA header over a valid RS256 signature',
        () => rs,
        () => signWith(rsa.privateKey, { alg: 'EdDSA', kid: rsKid() }, validPayload()),
      ],
      [
        'alg ES256 header over a valid RS256 signature',
        () => rs,
        () => signWith(rsa.privateKey, { alg: 'ES256', kid: rsKid() }, validPayload()),
      ],
      [
        'alg RS256 header over a valid ES256 signature',
        () => es,
        () => signWith(ec.privateKey, { alg: 'RS256', kid: esKid() }, validPayload()),
      ],
      [
        'alg ES384 header over a valid ES256 signature',
        () => es,
        () => signWith(ec.privateKey, { alg: 'ES384', kid: esKid() }, validPayload()),
      ],
      [
        'HS256 forged with the ES256 public PEM as HMAC secret',
        () => es,
        () => forgeHs256(validPayload(), pem(ec.publicKey), { alg: 'HS256', kid: esKid() }),
      ],
      [
        "attacker's key embedded as jwk, with our kid",
        () => es,
        () =>
          signWith(
            attacker.privateKey,
            { alg: 'ES256', kid: esKid(), jwk: attackerJwk },
            validPayload(),
          ),
      ],
      [
        "attacker's key embedded as jwk, with its own thumbprint as kid",
        () => es,
        () => {
          const kid = codecFor({
            JWT_ALGORITHM: 'ES256',
            JWT_PRIVATE_KEY: pem(attacker.privateKey),
          }).jwks().keys[0].kid;
          return signWith(
            attacker.privateKey,
            { alg: 'ES256', kid, jwk: attackerJwk },
            validPayload(),
          );
        },
      ],
      ...['jku', 'x5u'].map((member): [string, () => JwtCodec, () => unknown] => [
        `${member} pointing at the attacker's key set`,
        () => es,
        () =>
          signWith(
            attacker.privateKey,
            { alg: 'ES256', kid: esKid(), [member]: 'https://attacker.example/keys' },
            validPayload(),
          ),
      ]),
      [
        "x5c with the attacker's certificate chain",
        () => rs,
        () =>
          signWith(
            rsaUnlisted.privateKey,
            { alg: 'RS256', kid: rsKid(), x5c: ['MIIB'] },
            validPayload(),
          ),
      ],
      ...['jwk', 'jku', 'x5u', 'x5c', 'x5t'].map(
        (member): [string, () => JwtCodec, () => unknown] => [
          `a key header (${member}) even over our own valid signature`,
          () => es,
          () =>
            signWith(
              ec.privateKey,
              {
                alg: 'ES256',
                typ: 'JWT',
                kid: esKid(),
                [member]: member === 'jwk' ? attackerJwk : 'x',
              },
              validPayload(),
            ),
        ],
      ),
      [
        'expired',
        () => hs,
        () => hs.sign(claims, { issuedAt: now() - 7200, expiresInSeconds: 3600 }),
      ],
      ['missing exp', () => hs, () => forgeHs256({ ...claims, iat: now() })],
      ['exp as a string', () => hs, () => forgeHs256({ ...validPayload(), exp: `${now() + 60}` })],
      ['exp null', () => hs, () => forgeHs256({ ...validPayload(), exp: null })],
      ['missing iat', () => hs, () => forgeHs256({ ...claims, exp: now() + 60 })],
      ['iat in the future', () => hs, () => forgeHs256({ ...validPayload(), iat: now() + 600 })],
      ['nbf in the future', () => hs, () => forgeHs256({ ...validPayload(), nbf: now() + 600 })],
      ['user_id missing', () => hs, () => forgeHs256({ ...validPayload(), user_id: undefined })],
      ['user_id a string', () => hs, () => forgeHs256({ ...validPayload(), user_id: '42' })],
      ['user_id zero', () => hs, () => forgeHs256({ ...validPayload(), user_id: 0 })],
      ['user_id negative', () => hs, () => forgeHs256({ ...validPayload(), user_id: -1 })],
      ['user_id fractional', () => hs, () => forgeHs256({ ...validPayload(), user_id: 4.2 })],
      ['user_id unsafe', () => hs, () => forgeHs256({ ...validPayload(), user_id: 2 ** 60 })],
      ['username missing', () => hs, () => forgeHs256({ ...validPayload(), username: undefined })],
      ['username a number', () => hs, () => forgeHs256({ ...validPayload(), username: 1 })],
      ['jti empty', () => hs, () => forgeHs256({ ...validPayload(), jti: '' })],
      ['jti a number', () => hs, () => forgeHs256({ ...validPayload(), jti: 1 })],
      ['payload an array', () => hs, () => forgeHs256([validPayload()])],
      ['payload not JSON', () => hs, () => forgeHs256('{"user_id":42,')],
      ['header an array', () => hs, () => forgeHs256(validPayload(), SECRET, ['HS256'])],
      [
        'header with crit',
        () => hs,
        () => forgeHs256(validPayload(), SECRET, { alg: 'HS256', crit: ['b64'], b64: false }),
      ],
      [
        'header typ of another token kind',
        () => hs,
        () => forgeHs256(validPayload(), SECRET, { alg: 'HS256', typ: 'at+jwt' }),
      ],
      ['wrong secret', () => hs, () => codecFor({ JWT_SECRET: `${SECRET}!` }).sign(claims)],
      ['RS256 token to an HS256 codec', () => hs, () => rs.sign(claims)],
      ['HS256 token to an RS256 codec', () => rs, () => hs.sign(claims)],
      ['ES256 token to an RS256 codec', () => rs, () => es.sign(claims)],
      ['RS256 token to an ES256 codec', () => es, () => rs.sign(claims)],
      ['ES256 token to an HS256 codec', () => hs, () => es.sign(claims)],
      ['HS256 token to an ES256 codec', () => es, () => hs.sign(claims)],
      [
        'EdDSA token (Ed25519 key) with our kid to an ES256 codec',
        () => es,
        () => signWith(ed.privateKey, { alg: 'EdDSA', kid: esKid() }, validPayload()),
      ],
      [
        'unknown kid',
        () => rs,
        () =>
          codecFor({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: pem(rsaUnlisted.privateKey) }).sign(
            claims,
          ),
      ],
      [
        'unknown kid, ES256',
        () => es,
        () =>
          codecFor({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: pem(ecUnlisted.privateKey) }).sign(
            claims,
          ),
      ],
      [
        'known kid, signed by another key',
        () => rs,
        () => signWith(rsaUnlisted.privateKey, { alg: 'RS256', kid: rsKid() }, validPayload()),
      ],
      [
        'known kid, signed by another key, ES256',
        () => es,
        () => signWith(ecUnlisted.privateKey, { alg: 'ES256', kid: esKid() }, validPayload()),
      ],
      [
        'no kid, ES256',
        () => es,
        () => signWith(ec.privateKey, { alg: 'ES256', typ: 'JWT' }, validPayload()),
      ],
      [
        'no kid',
        () => rs,
        () => signWith(rsa.privateKey, { alg: 'RS256', typ: 'JWT' }, validPayload()),
      ],
      [
        'kid not a string',
        () => rs,
        () => signWith(rsa.privateKey, { alg: 'RS256', kid: [rsKid()] }, validPayload()),
      ],
      ['empty string', () => hs, () => ''],
      ['a.b.c', () => hs, () => 'a.b.c'],
      ['....', () => hs, () => '....'],
      ['two segments', () => hs, () => segments(hs.sign(claims)).slice(0, 2).join('.')],
      ['four segments', () => hs, () => `${hs.sign(claims)}.x`],
      ['trailing whitespace', () => hs, () => `${hs.sign(claims)} `],
      ['base64 padding', () => hs, () => `${hs.sign(claims)}=`],
      ['random base64', () => hs, () => randomBytes(300).toString('base64')],
      [
        'random base64url segments',
        () => rs,
        () => [1, 2, 3].map(() => randomBytes(64).toString('base64url')).join('.'),
      ],
      ['header not JSON', () => hs, () => `${b64('not json')}.${b64(validPayload())}.c2ln`],
      ['header JSON null', () => hs, () => `${b64('null')}.${b64(validPayload())}.c2ln`],
      ['100 kB token', () => hs, () => forgeHs256({ ...validPayload(), pad: 'x'.repeat(100_000) })],
      ['100 kB of dots', () => hs, () => '.'.repeat(100_000)],
      ['undefined', () => hs, () => undefined],
      ['null', () => hs, () => null],
      ['42', () => hs, () => 42],
      ['{}', () => hs, () => ({})],
      ['an array', () => hs, () => [hs.sign(claims)]],
      ['a Buffer of a valid token', () => hs, () => Buffer.from(hs.sign(claims))],
      ['a String object', () => hs, () => new String(hs.sign(claims))],
    ])('refuses %s', (_name, verifier, attack) => {
      const codec = verifier();
      const token = attack();
      let result: unknown;
      expect(() => {
        result = codec.verify(token);
      }).not.toThrow();
      expect(result).toBeNull();
    });

    // The controls for the rows above: the same constructions, minus the attack, are accepted.
    it.each<[string, JwtCodec, KeyObject, () => unknown]>([
      ['RS256', rs, rsa.privateKey, rsKid],
      ['ES256', es, ec.privateKey, esKid],
    ])(
      'accepts a %s token built the same way with the real key and no trick',
      (alg, codec, key, kid) => {
        const token = signWith(key, { alg, typ: 'JWT', kid: kid() }, validPayload());
        expect(codec.verify(token)).toEqual(validPayloadShape());
      },
    );
  });

  describe('key rotation', () => {
    const oldCodec = codecFor({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: pem(rsaOld.privateKey) });
    const rotated = (publicKeys: string) =>
      codecFor({
        JWT_ALGORITHM: 'RS256',
        JWT_PRIVATE_KEY: pem(rsa.privateKey),
        JWT_PUBLIC_KEYS: publicKeys,
      });

    it.each([
      ['||', `${pem(rsa.publicKey)}||${pem(rsaOld.publicKey)}`],
      ['newlines', `${pem(rsaOld.publicKey).trim()}\n${pem(rsa.publicKey)}`],
      ['the old key only (the signing key is always trusted)', pem(rsaOld.publicKey)],
    ])('still verifies tokens of a retired key listed in JWT_PUBLIC_KEYS (%s)', (_sep, keys) => {
      const codec = rotated(keys);
      expect(codec.verify(oldCodec.sign(claims))).toEqual(validPayloadShape());
      expect(codec.verify(codec.sign(claims))).toEqual(validPayloadShape());
      expect(codec.jwks().keys).toHaveLength(2);
    });

    it('refuses tokens of a key that is not listed', () => {
      const unlisted = codecFor({
        JWT_ALGORITHM: 'RS256',
        JWT_PRIVATE_KEY: pem(rsaUnlisted.privateKey),
      });
      expect(rotated(pem(rsaOld.publicKey)).verify(unlisted.sign(claims))).toBeNull();
      expect(rs.verify(oldCodec.sign(claims))).toBeNull();
    });

    it('signs with the private key, not with a listed public key', () => {
      const token = rotated(pem(rsaOld.publicKey)).sign(claims);
      expect(decode(segments(token)[0]).kid).toBe(decode(segments(rs.sign(claims))[0]).kid);
    });

    it('picks the ES256 verification key by kid', () => {
      const ecOld = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const old = codecFor({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: pem(ecOld.privateKey) });
      const codec = codecFor({
        JWT_ALGORITHM: 'ES256',
        JWT_PRIVATE_KEY: pem(ec.privateKey),
        JWT_PUBLIC_KEYS: pem(ecOld.publicKey),
      });
      expect(codec.verify(old.sign(claims))).toEqual(validPayloadShape());
      expect(codec.verify(es.sign(claims))).toEqual(validPayloadShape());
      expect(codec.jwks().keys.map((key) => key.kid)).toEqual([
        es.jwks().keys[0].kid,
        old.jwks().keys[0].kid,
      ]);
      // The old key's signature under the new key's kid is a bad signature, not a fallback.
      const [header] = segments(es.sign(claims));
      const [, payload, signature] = segments(old.sign(claims));
      expect(codec.verify(`${header}.${payload}.${signature}`)).toBeNull();
      expect(es.verify(old.sign(claims))).toBeNull();
    });
  });

  describe('jwks', () => {
    it('is empty for HS256', () => {
      expect(hs.jwks()).toEqual({ keys: [] });
    });

    it.each([
      ['RS256', rs, { kty: 'RSA', n: expect.any(String), e: 'AQAB' }],
      ['ES256', es, { kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) }],
    ])('publishes the %s public key under the kid of signed tokens', (alg, codec, shape) => {
      const { keys } = codec.jwks();
      expect(keys).toEqual([
        { ...shape, alg, use: 'sig', kid: decode(segments(codec.sign(claims))[0]).kid },
      ]);
      for (const privateMember of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
        expect(keys[0]).not.toHaveProperty(privateMember);
      }
      // The published key really verifies what the codec signs.
      const token = codec.sign(claims);
      const key = createPublicKey({ key: keys[0], format: 'jwk' });
      const [header, payload, signature] = segments(token);
      expect(
        verifyBytes(
          'sha256',
          Buffer.from(`${header}.${payload}`),
          { key, dsaEncoding: 'ieee-p1363' },
          Buffer.from(signature, 'base64url'),
        ),
      ).toBe(true);
    });

    it('derives kid as the RFC 7638 thumbprint (RFC 7638 §3.1 and RFC 9449 §6.1 vectors)', () => {
      const rfc7638Key = createPublicKey({
        format: 'jwk',
        key: {
          kty: 'RSA',
          e: 'AQAB',
          n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
        },
      });
      const withRfcKey = codecFor({
        JWT_ALGORITHM: 'RS256',
        JWT_PRIVATE_KEY: pem(rsa.privateKey),
        JWT_PUBLIC_KEYS: pem(rfc7638Key),
      });
      expect(withRfcKey.jwks().keys.map((key) => key.kid)).toContain(
        'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
      );

      // The P-256 key of RFC 9449's DPoP examples and its `jkt`, which is this thumbprint.
      const rfc9449Key = createPublicKey({
        format: 'jwk',
        key: {
          kty: 'EC',
          crv: 'P-256',
          x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs',
          y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA',
        },
      });
      const withEcKey = codecFor({
        JWT_ALGORITHM: 'ES256',
        JWT_PRIVATE_KEY: pem(ec.privateKey),
        JWT_PUBLIC_KEYS: pem(rfc9449Key),
      });
      expect(withEcKey.jwks().keys.map((key) => key.kid)).toContain(
        '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I',
      );
      // And the kid of signed tokens is the signing key's thumbprint, computed the same way.
      const signingJwk = ec.publicKey.export({ format: 'jwk' });
      const canonical = `{"crv":"P-256","kty":"EC","x":"${signingJwk.x}","y":"${signingJwk.y}"}`;
      expect(decode(segments(es.sign(claims))[0]).kid).toBe(
        createHash('sha256').update(canonical).digest('base64url'),
      );
    });

    it('returns copies, so a caller cannot alter the published keys', () => {
      rs.jwks().keys[0].n = 'tampered';
      expect(rs.jwks().keys[0].n).not.toBe('tampered');
    });
  });

  describe('configuration', () => {
    it.each([
      [
        'EdDSA, which jsonwebtoken does not offer',
        { JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: pem(ed.privateKey) },
        'JWT_ALGORITHM must be one of HS256, RS256, ES256',
      ],
      [
        'an RSA key for ES256',
        { JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: pem(rsa.privateKey) },
        'JWT_PRIVATE_KEY must be P-256 EC keys for ES256',
      ],
      [
        'a P-384 key for ES256',
        {
          JWT_ALGORITHM: 'ES256',
          JWT_PRIVATE_KEY: pem(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey),
        },
        'JWT_PRIVATE_KEY must be P-256 EC keys for ES256',
      ],
      [
        'an Ed25519 key for ES256',
        { JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: pem(ed.privateKey) },
        'JWT_PRIVATE_KEY must be P-256 EC keys for ES256',
      ],
      [
        'an RSA public key among ES256 keys',
        {
          JWT_ALGORITHM: 'ES256',
          JWT_PRIVATE_KEY: pem(ec.privateKey),
          JWT_PUBLIC_KEYS: pem(rsa.publicKey),
        },
        'JWT_PUBLIC_KEYS must be P-256 EC keys for ES256',
      ],
      [
        'an Ed25519 public key among RS256 keys',
        {
          JWT_ALGORITHM: 'RS256',
          JWT_PRIVATE_KEY: pem(rsa.privateKey),
          JWT_PUBLIC_KEYS: pem(ed.publicKey),
        },
        'JWT_PUBLIC_KEYS must be rsa keys for RS256',
      ],
      [
        'a short RSA key',
        {
          JWT_ALGORITHM: 'RS256',
          JWT_PRIVATE_KEY: pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey),
        },
        'at least 2048 bits',
      ],
      [
        'an unreadable private key',
        { JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: 'not a key' },
        'JWT_PRIVATE_KEY is not a readable PEM key',
      ],
    ])('refuses %s at start, naming the variable and not the key', (_name, env, message) => {
      let error: unknown;
      try {
        codecFor(env);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(message);
      expect((error as Error).message).not.toContain('BEGIN');
    });
  });
});

function validPayloadShape() {
  return {
    ...claims,
    iat: expect.any(Number),
    exp: expect.any(Number),
  };
}

describe('JwtCodec.verifyOriginal (tokens of the original service, LEGACY_SESSIONS=migrate)', () => {
  const original = () => ({ user_id: 42, username: 'ada', iat: now(), exp: now() + 3600 });
  const migrating = codecFor({ JWT_SECRET: SECRET, LEGACY_SESSIONS: 'migrate' });
  const migratingRs = codecFor({
    JWT_SECRET: SECRET,
    LEGACY_SESSIONS: 'migrate',
    JWT_ALGORITHM: 'RS256',
    JWT_PRIVATE_KEY: pem(rsa.privateKey),
  });

  it('accepts an HS256 token without jti under JWT_SECRET, whatever this service signs with', () => {
    const token = forgeHs256(original());
    expect(migrating.verifyOriginal(token)).toEqual(original());
    expect(migratingRs.verifyOriginal(token)).toEqual(original());
  });

  it('refuses everything with the opt-in off, and never lets verify() take such a token', () => {
    const token = forgeHs256(original());
    expect(hs.verifyOriginal(token)).toBeNull();
    expect(migrating.verify(token)).toBeNull();
  });

  it('refuses a token of this service (it has a jti), a foreign secret, alg none and an expired token', () => {
    expect(migrating.verifyOriginal(hs.sign(claims))).toBeNull();
    expect(migrating.verifyOriginal(forgeHs256(original(), 'another-secret'))).toBeNull();
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(original())}.`;
    expect(migrating.verifyOriginal(unsigned)).toBeNull();
    const expired = forgeHs256({ ...original(), iat: now() - 7200, exp: now() - 3600 });
    expect(migrating.verifyOriginal(expired)).toBeNull();
    // Told to ignore expiry (to count it as expired rather than malformed), it is recognised.
    expect(migrating.verifyOriginal(expired, { ignoreExpiration: true })).toMatchObject({
      user_id: 42,
    });
  });

  it('needs JWT_SECRET given, not generated, to turn the opt-in on', () => {
    expect(() => codecFor({ LEGACY_SESSIONS: 'migrate' })).toThrow(ConfigError);
  });
});
