import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsEmail, MaxLength } from 'class-validator';

export const EMAIL_MAX = 254;

/** A lone UTF-16 surrogate: JSON can carry one, but it has no Unicode form to normalize or store. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The one form of an email address that is stored, looked up (by exact equality) and counted by
 * the rate limits: trimmed, NFC, lower-cased by JavaScript's full Unicode mapping, NFC again (the
 * mapping can leave a sequence that composes). Every path to an author's email goes through this
 * one function, so no code point can make storage, lookup and limit keys disagree, as Postgres
 * `lower()` and JavaScript `toLowerCase()` did (`İ`). Idempotent; src/auth/email-address.spec.ts
 * walks every code point to show it.
 */
export function normalizeEmail(raw: string): string {
  return raw.trim().normalize('NFC').toLowerCase().normalize('NFC');
}

/** The normalized address, or undefined (which the validators refuse) for what has no Unicode form. */
function normalizedInput({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  return LONE_SURROGATE.test(value) ? undefined : normalizeEmail(value);
}

/**
 * An email field of an input (REST body or GraphQL input): normalized as the input is read, then
 * validated in that form, so the handler and everything after it only ever see the normalized
 * address.
 */
export const IsEmailAddress = () =>
  applyDecorators(
    Transform(normalizedInput),
    IsEmail({}, { message: 'email must be an email address' }),
    MaxLength(EMAIL_MAX),
  );
