import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import type { TestApp } from './test-app';

/** A sign-up no other test uses. */
export function newRegistration(
  overrides: Partial<{ email: string; password: string; name: string }> = {},
) {
  const id = randomBytes(5).toString('hex');
  return {
    email: `reader-${id}@example.test`,
    password: `pw-${id}-long-enough`,
    name: `Reader ${id}`,
    ...overrides,
  };
}

export interface SignedIn {
  email: string;
  password: string;
  authorId: number;
  /** `session_token=…` for a Cookie header (cookie mode). */
  cookie?: string;
  /** The JWT (bearer mode). */
  token?: string;
  body: Record<string, any>;
}

/** Every Set-Cookie line of a response. */
export function setCookies(res: Response): string[] {
  const header = res.headers['set-cookie'] as string | string[] | undefined;
  return header === undefined ? [] : Array.isArray(header) ? header : [header];
}

/** The `name=value` pair of the session cookie a response sets, if any. */
export function sessionCookie(res: Response, name = 'session_token'): string | undefined {
  return setCookies(res)
    .find((line) => line.startsWith(`${name}=`))
    ?.split(';')[0];
}

/** Registers a new author over REST and returns how to act as them. */
export async function registerAuthor(
  t: TestApp,
  mode: 'cookie' | 'bearer' = 'bearer',
  overrides: Partial<{ email: string; password: string; name: string }> = {},
): Promise<SignedIn> {
  const registration = newRegistration(overrides);
  const res = await t
    .http()
    .post('/auth/register')
    .send({ ...registration, mode })
    .expect(201);
  return {
    email: registration.email,
    password: registration.password,
    authorId: res.body.author.id,
    cookie: mode === 'cookie' ? sessionCookie(res, t.config.cookie.name) : undefined,
    token: mode === 'bearer' ? res.body.token : undefined,
    body: res.body,
  };
}

/** Signs an existing author in again, which makes another session. */
export async function login(
  t: TestApp,
  email: string,
  password: string,
  mode: 'cookie' | 'bearer' = 'bearer',
): Promise<{ cookie?: string; token?: string; body: Record<string, any> }> {
  const res = await t.http().post('/auth/login').send({ email, password, mode }).expect(200);
  return {
    cookie: mode === 'cookie' ? sessionCookie(res, t.config.cookie.name) : undefined,
    token: mode === 'bearer' ? res.body.token : undefined,
    body: res.body,
  };
}
