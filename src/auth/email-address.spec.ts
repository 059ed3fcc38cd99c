import { UnauthorizedException } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { AuditService } from '../audit/audit.service';
import type { AppConfig } from '../config/app-config';
import type { AuthorRepository } from '../infra/database/tables/author.repository';
import type { MailService } from '../infra/mail/mail.service';
import { EmailRateLimits, emailTracker } from '../rate-limit/email-rate-limits.service';
import type { RateLimiter, RateLimitVerdict } from '../rate-limit/rate-limit.service';
import type { SessionTokenManager } from '../tokens/session-token.service';
import type { VerificationTokenManager } from '../tokens/verification-token.service';
import { ForgotPasswordDto, LoginDto, RegisterDto } from './auth.dto';
import { AuthService } from './auth.service';
import type { ClientInfo } from '../infra/http/client-info.decorator';
import { normalizeEmail } from './email-address';
import type { EmailVerificationService } from './email-verification.service';
import { PasswordResetService } from './password-reset.service';
import type { PasswordService } from './password.service';
import type { ProfileService } from './profile.service';
import type { SlugService } from './slug.service';

/** Every Unicode scalar value: U+0000 to U+10FFFF without the surrogates. */
function* everyCodePoint(): Generator<string> {
  for (let cp = 0; cp <= 0x10ffff; cp += 1) {
    if (cp === 0xd800) cp = 0xe000;
    yield String.fromCodePoint(cp);
  }
}

/** The code point alone, and inside an address where case and composition have neighbours. */
const spellingsWith = (c: string) => [c, `A${c}\u0301b@Example.COM`];

/**
 * Every code point, inside addresses of 128 each: the paths below pass an address through
 * whole, so this covers every code point at a fraction of the cost of one address each.
 */
function* everyCodePointInAddresses(): Generator<string> {
  let chunk: string[] = [];
  for (const c of everyCodePoint()) {
    chunk.push(c);
    if (chunk.length === 128) {
      yield `A${chunk.join('')}\u0301@Example.COM`;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield `A${chunk.join('')}\u0301@Example.COM`;
}

const emailOf = (dto: new () => { email: string }, email: string) =>
  plainToInstance(dto, { email }).email;

describe('normalizeEmail', () => {
  it('trims, composes and lower-cases the cases the attack review used', () => {
    expect(normalizeEmail('  Ada@Example.COM\n')).toBe('ada@example.com');
    // `İ` lower-cases to i + combining dot in JavaScript, where Postgres lower() gave a plain i.
    expect(normalizeEmail('vİctim@example.com')).toBe('vi\u0307ctim@example.com');
    expect(normalizeEmail('vİctim@example.com')).not.toBe('victim@example.com');
    // The Kelvin sign is an upper-case k.
    expect(normalizeEmail('\u212Aate@example.com')).toBe('kate@example.com');
    // Fullwidth letters are letters of their own, lower-cased among themselves.
    expect(normalizeEmail('\uFF21da@example.com')).toBe('\uFF41da@example.com');
    // A decomposed é and a composed one are the same address.
    expect(normalizeEmail('Rene\u0301@example.com')).toBe('ren\u00e9@example.com');
  });

  it('is idempotent for every code point, alone and inside an address', () => {
    const unstable: string[] = [];
    for (const c of everyCodePoint()) {
      for (const spelling of spellingsWith(c)) {
        const once = normalizeEmail(spelling);
        if (normalizeEmail(once) !== once) unstable.push(spelling);
      }
    }
    expect(unstable).toEqual([]);
  });

  it('is what every input edge (sign-up, sign-in, forgot-password) makes of an email', () => {
    const disagreeing: string[] = [];
    for (const spelling of everyCodePointInAddresses()) {
      const normalized = normalizeEmail(spelling);
      if (
        emailOf(LoginDto, spelling) !== normalized ||
        emailOf(RegisterDto, spelling) !== normalized ||
        emailOf(ForgotPasswordDto, spelling) !== normalized
      ) {
        disagreeing.push(spelling);
      }
    }
    expect(disagreeing).toEqual([]);
  });

  it('refuses a lone surrogate as an invalid email instead of storing a replacement character', () => {
    for (const email of ['a@b\ud800.com', '\udc00a@example.com']) {
      const dto = plainToInstance(LoginDto, { email, password: 'x' });
      const errors = validateSync(dto);
      expect(errors.map((error) => error.property)).toEqual(['email']);
      expect(errors[0].constraints?.isEmail).toBe('email must be an email address');
    }
  });
});

describe('limit keys and account lookups', () => {
  const client: ClientInfo = { ip: '203.0.113.7', userAgent: null };
  let lookups: string[];
  let trackers: { name: string; tracker: string }[];

  const allowed: RateLimitVerdict = { allowed: true, retryAfterSeconds: 0 };
  const limiter = {
    hit: async (name: string, tracker: string) => (trackers.push({ name, tracker }), allowed),
    peek: async (name: string, tracker: string) => (trackers.push({ name, tracker }), allowed),
    record: async (name: string, tracker: string) => void trackers.push({ name, tracker }),
    reset: async (name: string, tracker: string) => void trackers.push({ name, tracker }),
  } as unknown as RateLimiter;
  const limits = new EmailRateLimits(limiter);
  const authors = {
    findByEmailWithPassword: async (email: string) => (lookups.push(email), null),
    findByEmail: async (email: string) => (lookups.push(email), null),
  } as unknown as AuthorRepository;
  let audited: () => void;
  const audit = { record: async () => audited() } as unknown as AuditService;
  const passwords = { check: async () => ({ valid: false, needsRehash: false }) };
  const auth = new AuthService(
    authors,
    passwords as unknown as PasswordService,
    {} as SessionTokenManager,
    {} as ProfileService,
    {} as SlugService,
    {} as EmailVerificationService,
    audit,
    limits,
  );
  const reset = new PasswordResetService(
    authors,
    {} as VerificationTokenManager,
    {} as SessionTokenManager,
    passwords as unknown as PasswordService,
    {} as MailService,
    audit,
    {} as AppConfig,
    limits,
  );

  beforeEach(() => {
    lookups = [];
    trackers = [];
    audited = () => undefined;
  });

  it('counts sign-in tries by the very value the account is looked up by, for every code point', async () => {
    const disagreeing: string[] = [];
    for (const spelling of everyCodePointInAddresses()) {
      lookups = [];
      trackers = [];
      await expect(auth.login(emailOf(LoginDto, spelling), 'pw', client)).rejects.toBeInstanceOf(
        UnauthorizedException,
      );
      const [looked] = lookups;
      const key = emailTracker(looked);
      const agree =
        lookups.length === 1 &&
        looked === normalizeEmail(spelling) &&
        trackers.length === 3 &&
        trackers.every(({ tracker }) => tracker === key || tracker === `${key}:ip:${client.ip}`);
      if (!agree) disagreeing.push(spelling);
    }
    expect(disagreeing).toEqual([]);
  });

  it('counts forgot-password requests by the very value the account is looked up by, for every code point', async () => {
    const disagreeing: string[] = [];
    for (const spelling of everyCodePointInAddresses()) {
      lookups = [];
      trackers = [];
      const lookedUp = new Promise<void>((resolve) => (audited = resolve));
      await reset.forgot(emailOf(ForgotPasswordDto, spelling), client);
      await lookedUp;
      const agree =
        lookups.length === 1 &&
        lookups[0] === normalizeEmail(spelling) &&
        trackers.length === 1 &&
        trackers[0].tracker === emailTracker(lookups[0]);
      if (!agree) disagreeing.push(spelling);
    }
    expect(disagreeing).toEqual([]);
  });
});
