import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { login, registerAuthor, sessionCookie, type SignedIn } from '../support/auth';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Bad input on every /auth route that takes any (README, "Endpoints so far"): each case must be refused with a
 * 4xx in Nest's error shape that names the problem, leak nothing (stack, SQL, token, secret) and
 * change nothing. The GraphQL side is covered briefly at the end.
 */

/** Who sends the request; the body is irrelevant when the caller may not use the route at all. */
type Caller =
  | 'anonymous'
  | 'bearer'
  /** The caller's own JWT with its signature altered. */
  | 'forgedBearer'
  /** A state-changing cookie request without Origin or Referer: refused before the body matters. */
  | 'cookieNoOrigin'
  | 'cookieForeignOrigin';

type Json = object | string | number | boolean | null | undefined;
/** Built from the fresh author of the test, for cases that need real credentials. */
type FromAuthor<T> = T | ((me: SignedIn) => T);

interface Case {
  /** Method and path; `{uuid}` becomes a fresh UUID v4 (a session that is not the caller's). */
  route: string;
  what: string;
  caller: Caller;
  /** Sent as JSON; omitted means no body at all. */
  body?: FromAuthor<Json>;
  /** Sent as is, for bodies that are not (valid) JSON. */
  raw?: { type: string; text: FromAuthor<string> };
  /** Several only where the contract leaves the choice open (a body that is not JSON: 400 or 415). */
  status: number | number[];
  message: RegExp;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
};

const FOREIGN_ORIGIN = 'https://evil.example';
const a = (n: number) => 'a'.repeat(n);
/** A well-formed token that no link ever carried (43 url-safe characters, like the real ones). */
const UNKNOWN_TOKEN = 'Q'.repeat(43);
const NEW_PASSWORD = 'a-new-password-123';
/** What the refusal of a body that is not JSON must name, where no field would be missing. */
const NOT_JSON = /JSON|media type|content-type/i;

// ---------------------------------------------------------------------------------------------
// Cases every route gets: the body parser's refusals and the size limit. The parser runs before
// routing and authentication, so routes that take no body (logout, refresh, DELETE) are included.
// ---------------------------------------------------------------------------------------------

const INPUT_ROUTES: Array<[route: string, caller: Caller]> = [
  ['POST /auth/register', 'anonymous'],
  ['POST /auth/login', 'anonymous'],
  ['POST /auth/logout', 'bearer'],
  ['POST /auth/refresh', 'bearer'],
  ['PUT /auth/profile', 'bearer'],
  ['POST /auth/change-password', 'bearer'],
  ['DELETE /auth/sessions/{uuid}', 'bearer'],
  ['POST /auth/verify-email/confirm', 'anonymous'],
  ['POST /auth/password/forgot', 'anonymous'],
  ['POST /auth/password/reset', 'anonymous'],
  ['POST /auth/phone/request', 'bearer'],
  ['POST /auth/phone/confirm', 'bearer'],
  ['DELETE /auth/accounts/github', 'bearer'],
];

const bodyParsingCases: Case[] = INPUT_ROUTES.flatMap(([route, caller]): Case[] => [
  {
    route,
    caller,
    what: 'malformed JSON',
    raw: { type: 'application/json', text: '{"email": "a@example.test",' },
    status: 400,
    message: /not valid JSON/,
  },
  {
    route,
    caller,
    what: 'a JSON string instead of an object',
    raw: { type: 'application/json', text: '"hello"' },
    status: 400,
    message: /JSON/,
  },
  {
    route,
    caller,
    what: 'a 200 kB JSON body',
    body: { padding: 'x'.repeat(200 * 1024) },
    status: 413,
    message: /larger than 100kb/,
  },
  {
    route,
    caller,
    what: 'JSON in a charset the parser does not read',
    raw: { type: 'application/json; charset=latin1', text: '{}' },
    status: 415,
    message: /charset/i,
  },
]);

// ---------------------------------------------------------------------------------------------
// Route by route.
// ---------------------------------------------------------------------------------------------

/** Body cases of one route and caller, each refused with 400: [what, body, message]. */
function rows(
  route: string,
  caller: Caller,
  list: Array<[what: string, body: FromAuthor<Json>, message: RegExp]>,
): Case[] {
  return list.map(([what, body, message]) => ({ route, caller, what, body, status: 400, message }));
}

/** Bad path parameters, sent by a signed-in caller and refused with 400: [what, segment]. */
function pathRows(
  prefix: string,
  message: RegExp,
  list: Array<[what: string, segment: string]>,
): Case[] {
  return list.map(([what, segment]) => ({
    route: `${prefix}${segment}`,
    caller: 'bearer',
    what,
    status: 400,
    message,
  }));
}

const routeCases: Case[] = [
  // POST /auth/register ------------------------------------------------------------------------
  // prettier-ignore
  ...rows('POST /auth/register', 'anonymous', [
    ['no body at all', undefined, /email must be an email address/],
    ['an empty object', {}, /password must be a string/],
    ['no password', { email: 'x1@example.test' }, /password must be a string/],
    ['no email', { password: NEW_PASSWORD }, /email must be an email address/],
    ['email as a number', { email: 42, password: NEW_PASSWORD }, /email must be an email/],
    ['email as an array', { email: ['x@example.test'], password: NEW_PASSWORD }, /email must be an email/],
    ['email as an operator object', { email: { $ne: '' }, password: NEW_PASSWORD }, /email must be an email/],
    ['email null', { email: null, password: NEW_PASSWORD }, /email must be an email/],
    ['email true', { email: true, password: NEW_PASSWORD }, /email must be an email/],
    ['password as a number', { email: 'x2@example.test', password: 12345678 }, /password must be a string/],
    ['password as an array', { email: 'x3@example.test', password: ['long-enough-1'] }, /password must be a string/],
    ['password as an object', { email: 'x4@example.test', password: { $gt: '' } }, /password must be a string/],
    ['password null', { email: 'x5@example.test', password: null }, /password must be a string/],
    ['password false', { email: 'x6@example.test', password: false }, /password must be a string/],
    ['name as a number', { email: 'x7@example.test', password: NEW_PASSWORD, name: 7 }, /name must be a string/],
    ['email "nope"', { email: 'nope', password: NEW_PASSWORD }, /email must be an email address/],
    ['email without a domain', { email: 'ada@', password: NEW_PASSWORD }, /email must be an email address/],
    ['email without a local part', { email: '@example.test', password: NEW_PASSWORD }, /email must be an email address/],
    ['email with a space', { email: 'a da@example.test', password: NEW_PASSWORD }, /email must be an email address/],
    ['two emails', { email: 'a@example.test,b@example.test', password: NEW_PASSWORD }, /email must be an email address/],
    ['email with a mail header injected', { email: 'x8@example.test\r\nBcc: spy@evil.example', password: NEW_PASSWORD }, /email must be an email address/],
    ['email of 300 characters', { email: `${a(288)}@example.test`, password: NEW_PASSWORD }, /email must be shorter than or equal to 254/],
    ['password of 7 characters', { email: 'x9@example.test', password: 'short-7' }, /password must be longer than or equal to 8/],
    ['password of 1025 characters', { email: 'x10@example.test', password: a(1025) }, /password must be shorter than or equal to 1024/],
    ['empty name', { email: 'x11@example.test', password: NEW_PASSWORD, name: '' }, /name must be longer than or equal to 1/],
    ['name of 101 characters', { email: 'x12@example.test', password: NEW_PASSWORD, name: a(101) }, /name must be shorter than or equal to 100/],
    ['an unknown mode', { email: 'x13@example.test', password: NEW_PASSWORD, mode: 'both' }, /mode must be cookie or bearer/],
    ['roles', { email: 'x14@example.test', password: NEW_PASSWORD, roles: ['admin'] }, /property roles should not exist/],
    ['is_admin', { email: 'x15@example.test', password: NEW_PASSWORD, is_admin: true }, /property is_admin should not exist/],
    ['email_verified', { email: 'x16@example.test', password: NEW_PASSWORD, email_verified: true }, /property email_verified should not exist/],
    ['id', { email: 'x17@example.test', password: NEW_PASSWORD, id: 1 }, /property id should not exist/],
    ['a top-level array', [{ email: 'x18@example.test', password: NEW_PASSWORD }], /should not exist|email/],
  ]),
  {
    route: 'POST /auth/register',
    caller: 'anonymous',
    what: '__proto__ carrying roles',
    raw: {
      type: 'application/json',
      text: `{"email":"x19@example.test","password":"${NEW_PASSWORD}","__proto__":{"roles":["admin"]}}`,
    },
    status: 400,
    message: /__proto__/,
  },
  {
    route: 'POST /auth/register',
    caller: 'anonymous',
    what: 'constructor carrying a prototype',
    body: { email: 'x20@example.test', password: NEW_PASSWORD, constructor: { prototype: {} } },
    status: 400,
    message: /constructor/,
  },
  {
    route: 'POST /auth/register',
    caller: 'anonymous',
    what: 'a valid sign-up sent as text/plain (a cross-site form can send that)',
    raw: {
      type: 'text/plain',
      text: JSON.stringify({ email: 'x21@example.test', password: NEW_PASSWORD }),
    },
    status: [400, 415],
    message: /email must be an email address|JSON|media type/i,
  },
  {
    route: 'POST /auth/register',
    caller: 'anonymous',
    what: 'a valid sign-up sent form-encoded',
    raw: {
      type: 'application/x-www-form-urlencoded',
      text: `email=x22%40example.test&password=${NEW_PASSWORD}`,
    },
    status: [400, 415],
    message: /email must be an email address|JSON|media type/i,
  },

  // POST /auth/login ---------------------------------------------------------------------------
  // prettier-ignore
  ...rows('POST /auth/login', 'anonymous', [
    ['an empty object', {}, /email must be an email address/],
    ['no password', (me) => ({ email: me.email }), /password must be a string/],
    ['no email', (me) => ({ password: me.password }), /email must be an email address/],
    ['an empty password', (me) => ({ email: me.email, password: '' }), /password must not be empty/],
    ['email as a number', (me) => ({ email: 42, password: me.password }), /email must be an email/],
    ['email as an array', (me) => ({ email: [me.email], password: me.password }), /email must be an email/],
    ['email as an operator object', (me) => ({ email: { $ne: '' }, password: me.password }), /email must be an email/],
    ['email null', (me) => ({ email: null, password: me.password }), /email must be an email/],
    ['password as an operator object', (me) => ({ email: me.email, password: { $gt: '' } }), /password must be a string/],
    ['password true', (me) => ({ email: me.email, password: true }), /password must be a string/],
    ['password as an array', (me) => ({ email: me.email, password: [me.password] }), /password must be a string/],
    ['email "nope"', (me) => ({ email: 'nope', password: me.password }), /email must be an email address/],
    ['email of 300 characters', (me) => ({ email: `${a(288)}@example.test`, password: me.password }), /email must be shorter than or equal to 254/],
    ['password of 1025 characters', (me) => ({ email: me.email, password: a(1025) }), /password must be shorter than or equal to 1024/],
    ['an unknown mode', (me) => ({ email: me.email, password: me.password, mode: 'jwt' }), /mode must be cookie or bearer/],
    ['right credentials plus roles', (me) => ({ email: me.email, password: me.password, roles: ['admin'] }), /property roles should not exist/],
    ['right credentials plus remember_me', (me) => ({ email: me.email, password: me.password, remember_me: true }), /property remember_me should not exist/],
  ]),
  {
    route: 'POST /auth/login',
    caller: 'anonymous',
    what: 'right credentials as text/plain (login CSRF)',
    raw: {
      type: 'text/plain',
      text: (me) => JSON.stringify({ email: me.email, password: me.password }),
    },
    status: [400, 415],
    message: /email must be an email address|JSON|media type/i,
  },
  {
    route: 'POST /auth/login',
    caller: 'anonymous',
    what: 'right credentials form-encoded (login CSRF)',
    raw: {
      type: 'application/x-www-form-urlencoded',
      text: (me) =>
        `email=${encodeURIComponent(me.email)}&password=${encodeURIComponent(me.password)}`,
    },
    status: [400, 415],
    message: /email must be an email address|JSON|media type/i,
  },

  // POST /auth/logout and /auth/refresh take no body: every field is unknown ------------------
  {
    route: 'POST /auth/logout',
    caller: 'bearer',
    what: 'a session_id and user_id in the body',
    body: { session_id: randomUUID(), user_id: 1 },
    status: 400,
    message: /session_id|user_id|body/,
  },
  {
    route: 'POST /auth/refresh',
    caller: 'bearer',
    what: 'a user_id and roles in the body',
    body: { user_id: 1, roles: ['admin'] },
    status: 400,
    message: /user_id|roles|body/,
  },
  {
    route: 'POST /auth/refresh',
    caller: 'anonymous',
    what: 'no session',
    body: { user_id: 1 },
    status: 401,
    message: /Authentication required/,
  },
  {
    route: 'POST /auth/refresh',
    caller: 'forgedBearer',
    what: 'a token with an altered signature',
    status: 401,
    message: /Authentication required/,
  },
  {
    route: 'POST /auth/refresh',
    caller: 'cookieNoOrigin',
    what: 'neither Origin nor Referer',
    status: 403,
    message: /Origin or Referer/,
  },

  // PUT /auth/profile --------------------------------------------------------------------------
  // prettier-ignore
  ...rows('PUT /auth/profile', 'bearer', [
    ['name as a number', { name: 5 }, /name must be a string/],
    ['name as an array', { name: ['Ada'] }, /name must be a string/],
    ['an empty name', { name: '' }, /name must be longer than or equal to 1/],
    ['name of 101 characters', { name: a(101) }, /name must be shorter than or equal to 100/],
    ['slug null', { slug: null }, /slug must be a string/],
    ['slug of one character', { slug: 'a' }, /slug must be longer than or equal to 2/],
    ['slug of 51 characters', { slug: a(51) }, /slug must be shorter than or equal to 50/],
    ['slug with capitals and spaces', { slug: 'Ada Lovelace' }, /slug may only contain/],
    ['slug with a double hyphen', { slug: 'ada--lovelace' }, /slug may only contain/],
    ['slug as a number', { slug: 42 }, /slug must be a string/],
    ['bio as an object', { bio: { html: '<b>hi</b>' } }, /bio must be a string/],
    ['bio of 2001 characters', { bio: a(2001) }, /bio must be shorter than or equal to 2000/],
    ['pic with a javascript: URL', { pic: 'javascript:alert(1)' }, /pic must be an http\(s\) URL/],
    ['pic of 2049 characters', { pic: `https://cdn.example.test/${a(2030)}` }, /pic must be shorter than or equal to 2048/],
    ['pic true', { pic: true }, /pic must be a string/],
    ['roles', { roles: ['admin'] }, /property roles should not exist/],
    ['is_admin', { is_admin: true }, /property is_admin should not exist/],
    ['email_verified', { email_verified: true }, /property email_verified should not exist/],
    ['phone_verified', { phone: '+15551234567', phone_verified: true }, /property phone should not exist/],
    ['id', { id: 1, name: 'Ada' }, /property id should not exist/],
    ['email', { email: 'takeover@example.test' }, /property email should not exist/],
    ['password', { password: NEW_PASSWORD }, /property password should not exist/],
    ['a top-level array', [{ name: 'Ada' }], /should not exist/],
  ]),
  {
    route: 'PUT /auth/profile',
    caller: 'bearer',
    what: '__proto__ carrying roles',
    raw: { type: 'application/json', text: '{"__proto__":{"roles":["admin"],"is_admin":true}}' },
    status: 400,
    message: /__proto__/,
  },
  {
    route: 'PUT /auth/profile',
    caller: 'bearer',
    what: 'a change sent as text/plain',
    raw: { type: 'text/plain', text: JSON.stringify({ name: 'Changed' }) },
    status: [400, 415],
    message: NOT_JSON,
  },
  {
    route: 'PUT /auth/profile',
    caller: 'anonymous',
    what: 'no session',
    body: { roles: ['admin'] },
    status: 401,
    message: /Authentication required/,
  },
  {
    route: 'PUT /auth/profile',
    caller: 'cookieForeignOrigin',
    what: 'a foreign Origin',
    body: { name: 'Hijacked' },
    status: 403,
    message: /Origin .* is not allowed/,
  },

  // POST /auth/change-password -----------------------------------------------------------------
  // prettier-ignore
  ...rows('POST /auth/change-password', 'bearer', [
    ['an empty object', {}, /old_password must be a string/],
    ['no new_password', (me) => ({ old_password: me.password }), /new_password must be a string/],
    ['no old_password', { new_password: NEW_PASSWORD }, /old_password must be a string/],
    ['old_password as a number', { old_password: 12345678, new_password: NEW_PASSWORD }, /old_password must be a string/],
    ['new_password as an array', (me) => ({ old_password: me.password, new_password: [NEW_PASSWORD] }), /new_password must be a string/],
    ['new_password null', (me) => ({ old_password: me.password, new_password: null }), /new_password must be a string/],
    ['new_password true', (me) => ({ old_password: me.password, new_password: true }), /new_password must be a string/],
    ['new_password of 7 characters', (me) => ({ old_password: me.password, new_password: 'short-7' }), /new_password must be longer than or equal to 8/],
    ['new_password of 1025 characters', (me) => ({ old_password: me.password, new_password: a(1025) }), /new_password must be shorter than or equal to 1024/],
    ['old_password of 1025 characters', { old_password: a(1025), new_password: NEW_PASSWORD }, /old_password must be shorter than or equal to 1024/],
    ['right old password plus author_id', (me) => ({ old_password: me.password, new_password: NEW_PASSWORD, author_id: 1 }), /property author_id should not exist/],
    ['right old password plus keep_sessions', (me) => ({ old_password: me.password, new_password: NEW_PASSWORD, keep_sessions: true }), /property keep_sessions should not exist/],
  ]),
  {
    route: 'POST /auth/change-password',
    caller: 'bearer',
    what: 'a valid change sent as text/plain',
    raw: {
      type: 'text/plain',
      text: (me) => JSON.stringify({ old_password: me.password, new_password: NEW_PASSWORD }),
    },
    status: [400, 415],
    message: /old_password must be a string|JSON|media type/i,
  },
  {
    route: 'POST /auth/change-password',
    caller: 'anonymous',
    what: 'no session',
    body: { old_password: 1 },
    status: 401,
    message: /Authentication required/,
  },
  {
    route: 'POST /auth/change-password',
    caller: 'forgedBearer',
    what: 'a token with an altered signature',
    body: (me: SignedIn) => ({ old_password: me.password, new_password: NEW_PASSWORD }),
    status: 401,
    message: /Authentication required/,
  },
  {
    route: 'POST /auth/change-password',
    caller: 'cookieNoOrigin',
    what: 'neither Origin nor Referer',
    body: (me: SignedIn) => ({ old_password: me.password, new_password: NEW_PASSWORD }),
    status: 403,
    message: /Origin or Referer/,
  },
  {
    route: 'POST /auth/change-password',
    caller: 'cookieForeignOrigin',
    what: 'a foreign Origin',
    body: (me: SignedIn) => ({ old_password: me.password, new_password: NEW_PASSWORD }),
    status: 403,
    message: /Origin .* is not allowed/,
  },

  // DELETE /auth/sessions/:id: the id is the input ----------------------------------------------
  // prettier-ignore
  ...pathRows('DELETE /auth/sessions/', /uuid/i, [
    ['an id that is a word', 'not-a-uuid'],
    ['an id that is a UUID v1', 'c232ab00-9414-11ec-b3c8-9f68deced846'],
    ['an id of 300 characters', a(300)],
    ['an id that is SQL', encodeURIComponent("1' OR '1'='1")],
    ['an id that is an encoded path traversal', '%2e%2e%2fprofile'],
    ['an id with a NUL byte', `${randomUUID()}%00`],
  ]),
  {
    route: 'DELETE /auth/sessions/%E0%A4%A',
    caller: 'bearer',
    what: 'an id that is broken percent-encoding',
    status: 400,
    message: /decode/i,
  },
  {
    route: 'DELETE /auth/sessions/not-a-uuid',
    caller: 'anonymous',
    what: 'no session',
    status: 401,
    message: /Authentication required/,
  },
  {
    route: 'DELETE /auth/sessions/{uuid}',
    caller: 'cookieNoOrigin',
    what: 'neither Origin nor Referer',
    status: 403,
    message: /Origin or Referer/,
  },

  // POST /auth/verify-email/confirm ------------------------------------------------------------
  // prettier-ignore
  ...rows('POST /auth/verify-email/confirm', 'anonymous', [
    ['an empty object', {}, /token must be a string/],
    ['token as a number', { token: 42 }, /token must be a string/],
    ['token as an array', { token: [UNKNOWN_TOKEN] }, /token must be a string/],
    ['token as an operator object', { token: { $gt: '' } }, /token must be a string/],
    ['token null', { token: null }, /token must be a string/],
    ['token true', { token: true }, /token must be a string/],
    ['a token of 300 characters', { token: a(300) }, /token must be shorter than or equal to 256/],
    ['a token with spaces', { token: 'abc def' }, /token must be a token from the link/],
    ['a token with SQL', { token: "x' OR '1'='1" }, /token must be a token from the link/],
    ['a token with a path', { token: '../../etc/passwd' }, /token must be a token from the link/],
    ['token plus email_verified', { token: UNKNOWN_TOKEN, email_verified: true }, /property email_verified should not exist/],
    ['token plus user_id', (me) => ({ token: UNKNOWN_TOKEN, user_id: me.authorId }), /property user_id should not exist/],
  ]),
  {
    route: 'POST /auth/verify-email/confirm',
    caller: 'anonymous',
    what: 'a token as text/plain',
    raw: { type: 'text/plain', text: JSON.stringify({ token: UNKNOWN_TOKEN }) },
    status: [400, 415],
    message: /token must be a string|JSON|media type/i,
  },

  // POST /auth/password/forgot -----------------------------------------------------------------
  // prettier-ignore
  ...rows('POST /auth/password/forgot', 'anonymous', [
    ['an empty object', {}, /email must be an email address/],
    ['email as a number', { email: 42 }, /email must be an email address/],
    ['email as an array', (me) => ({ email: [me.email, 'spy@evil.example'] }), /email must be an email address/],
    ['email as an operator object', { email: { $regex: '.*' } }, /email must be an email address/],
    ['email null', { email: null }, /email must be an email address/],
    ['email "nope"', { email: 'nope' }, /email must be an email address/],
    ['email without a domain', { email: 'ada@' }, /email must be an email address/],
    ['two emails', (me) => ({ email: `${me.email},spy@evil.example` }), /email must be an email address/],
    ['email with a Bcc header injected', (me) => ({ email: `${me.email}\r\nBcc: spy@evil.example` }), /email must be an email address/],
    ['email of 300 characters', { email: `${a(288)}@example.test` }, /email must be shorter than or equal to 254/],
    ['email plus a redirect_uri', (me) => ({ email: me.email, redirect_uri: 'https://evil.example/steal' }), /property redirect_uri should not exist/],
    ['email plus a reset_url', (me) => ({ email: me.email, reset_url: 'https://evil.example/reset' }), /property reset_url should not exist/],
  ]),
  {
    route: 'POST /auth/password/forgot',
    caller: 'anonymous',
    what: 'an email as text/plain',
    raw: { type: 'text/plain', text: (me) => JSON.stringify({ email: me.email }) },
    status: [400, 415],
    message: /email must be an email address|JSON|media type/i,
  },

  // POST /auth/password/reset ------------------------------------------------------------------
  // prettier-ignore
  ...rows('POST /auth/password/reset', 'anonymous', [
    ['an empty object', {}, /token must be a string/],
    ['no new_password', { token: UNKNOWN_TOKEN }, /new_password must be a string/],
    ['no token', { new_password: NEW_PASSWORD }, /token must be a string/],
    ['token as a number', { token: 7, new_password: NEW_PASSWORD }, /token must be a string/],
    ['token as an operator object', { token: { $ne: null }, new_password: NEW_PASSWORD }, /token must be a string/],
    ['new_password as a number', { token: UNKNOWN_TOKEN, new_password: 12345678 }, /new_password must be a string/],
    ['new_password null', { token: UNKNOWN_TOKEN, new_password: null }, /new_password must be a string/],
    ['a token of 300 characters', { token: a(300), new_password: NEW_PASSWORD }, /token must be shorter than or equal to 256/],
    ['a token with spaces', { token: 'abc def', new_password: NEW_PASSWORD }, /token must be a token from the link/],
    ['new_password of 7 characters', { token: UNKNOWN_TOKEN, new_password: 'short-7' }, /new_password must be longer than or equal to 8/],
    ['new_password of 1025 characters', { token: UNKNOWN_TOKEN, new_password: a(1025) }, /new_password must be shorter than or equal to 1024/],
    ['token plus user_id', (me) => ({ token: UNKNOWN_TOKEN, new_password: NEW_PASSWORD, user_id: me.authorId }), /property user_id should not exist/],
    ['token plus email', (me) => ({ token: UNKNOWN_TOKEN, new_password: NEW_PASSWORD, email: me.email }), /property email should not exist/],
  ]),
  {
    route: 'POST /auth/password/reset',
    caller: 'anonymous',
    what: 'a reset as text/plain',
    raw: {
      type: 'text/plain',
      text: JSON.stringify({ token: UNKNOWN_TOKEN, new_password: NEW_PASSWORD }),
    },
    status: [400, 415],
    message: /token must be a string|JSON|media type/i,
  },

  // POST /auth/phone/request -------------------------------------------------------------------
  // prettier-ignore
  ...rows('POST /auth/phone/request', 'bearer', [
    ['an empty object', {}, /phone must be a string/],
    ['phone as a number', { phone: 15551234567 }, /phone must be a string/],
    ['phone as an array', { phone: ['+15551234567'] }, /phone must be a string/],
    ['phone null', { phone: null }, /phone must be a string/],
    ['phone without +', { phone: '15551234567' }, /phone must be in international format/],
    ['phone with letters', { phone: '+1555CALLNOW' }, /phone must be in international format/],
    ['phone of 31 characters', { phone: `+${'1'.repeat(30)}` }, /phone must be in international format/],
    ['phone with a second number', { phone: '+15551234567,+15557654321' }, /phone must be in international format/],
    ['phone plus phone_verified', { phone: '+15551234567', phone_verified: true }, /property phone_verified should not exist/],
    ['phone plus code', { phone: '+15551234567', code: '904217' }, /property code should not exist/],
  ]),
  {
    route: 'POST /auth/phone/request',
    caller: 'bearer',
    what: 'a phone as text/plain',
    raw: { type: 'text/plain', text: JSON.stringify({ phone: '+15551234567' }) },
    status: [400, 415],
    message: /phone must be a string|JSON|media type/i,
  },
  {
    route: 'POST /auth/phone/request',
    caller: 'anonymous',
    what: 'no session',
    body: { phone: 15551234567 },
    status: 401,
    message: /Authentication required/,
  },

  // POST /auth/phone/confirm -------------------------------------------------------------------
  // prettier-ignore
  ...rows('POST /auth/phone/confirm', 'bearer', [
    ['an empty object', {}, /code must be a string/],
    ['no code', { phone: '+15551234567' }, /code must be a string/],
    ['no phone', { code: '904217' }, /phone must be a string/],
    ['code as a number', { phone: '+15551234567', code: 904217 }, /code must be a string/],
    ['code as an array', { phone: '+15551234567', code: ['904217'] }, /code must be a string/],
    ['code of 7 digits', { phone: '+15551234567', code: '9042178' }, /code must be 6 digits/],
    ['code of letters', { phone: '+15551234567', code: 'abcdef' }, /code must be 6 digits/],
    ['code of 300 characters', { phone: '+15551234567', code: a(300) }, /code must be 6 digits/],
    ['phone without +', { phone: '15551234567', code: '904217' }, /phone must be in international format/],
    ['phone plus verified', { phone: '+15551234567', code: '904217', verified: true }, /property verified should not exist/],
  ]),
  {
    route: 'POST /auth/phone/confirm',
    caller: 'anonymous',
    what: 'no session',
    body: { phone: '+15551234567', code: 904217 },
    status: 401,
    message: /Authentication required/,
  },

  // DELETE /auth/accounts/:provider: the provider is the input ----------------------------------
  // prettier-ignore
  ...pathRows('DELETE /auth/accounts/', /Unknown provider/, [
    ['an unknown provider', 'myspace'],
    ['provider __proto__', '__proto__'],
    ['provider constructor', 'constructor'],
    ['a provider of 300 characters', a(300)],
    ['a known provider with a NUL byte', 'github%00'],
    ['a known provider with a space', 'github%20'],
    ['a provider that is SQL', encodeURIComponent("github' OR '1'='1")],
  ]),
  {
    route: 'DELETE /auth/accounts/myspace',
    caller: 'anonymous',
    what: 'no session',
    status: 401,
    message: /Authentication required/,
  },
  {
    route: 'DELETE /auth/accounts/github',
    caller: 'cookieNoOrigin',
    what: 'neither Origin nor Referer',
    status: 403,
    message: /Origin or Referer/,
  },
];

// ---------------------------------------------------------------------------------------------
// Checks shared by every case.
// ---------------------------------------------------------------------------------------------

const STACK_TRACE = /\bat .*\.(js|ts|mjs|cjs):\d+/;
const SQL =
  /\b(select .* from|insert into|update .* set|delete from)\b|QueryFailedError|syntax error at or near|violates .* constraint|duplicate key|relation "/i;
const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;

function resolve<T>(value: FromAuthor<T>, me: SignedIn): T {
  return typeof value === 'function' ? (value as (me: SignedIn) => T)(me) : value;
}

function messageText(message: unknown): string {
  return Array.isArray(message) ? message.join('\n') : String(message);
}

/** Strings the response must never contain: the caller's secrets and any secret the body sent. */
function secretsOf(me: SignedIn, body: unknown, cookie: string | undefined): string[] {
  const secrets = [me.password, me.token!];
  if (cookie) secrets.push(cookie.split('=')[1]);
  if (body && typeof body === 'object') {
    for (const [key, value] of Object.entries(body)) {
      if (/password|token|code/.test(key) && typeof value === 'string' && value.length >= 6) {
        secrets.push(value);
      }
    }
  }
  return secrets;
}

function expectCleanError(res: Response, c: Case, secrets: string[]): void {
  const statuses = Array.isArray(c.status) ? c.status : [c.status];
  // Status and body in one assertion, so that a failure shows what the server answered.
  const expected = statuses.includes(res.status)
    ? res.status
    : statuses.length === 1
      ? statuses[0]
      : statuses.join(' or ');
  expect({ status: res.status, body: res.body }).toEqual({ status: expected, body: res.body });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(res.body).sort()).toEqual(['error', 'message', 'statusCode']);
  expect(res.body.statusCode).toBe(res.status);
  expect(res.body.error).toBe(REASONS[res.status]);
  const { message } = res.body as { message: unknown };
  if (Array.isArray(message)) {
    expect(message.length).toBeGreaterThan(0);
    for (const line of message) expect(line).toEqual(expect.stringMatching(/\S/));
  } else {
    expect(message).toEqual(expect.stringMatching(/\S/));
  }
  expect(messageText(message)).toMatch(c.message);
  expect(res.text).not.toMatch(STACK_TRACE);
  expect(res.text).not.toMatch(SQL);
  expect(res.text).not.toMatch(JWT);
  for (const secret of secrets) expect(res.text).not.toContain(secret);
}

// ---------------------------------------------------------------------------------------------

describe('REST: bad input on every /auth route', () => {
  let t: TestApp;
  let db: DataSource;

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
  });
  afterAll(() => t.close());

  /** What a refused request must leave as it was: the author row, roles, sessions, accounts, audit. */
  async function snapshot(me: SignedIn) {
    const [author] = await db.query('SELECT * FROM author WHERE id = $1', [me.authorId]);
    const roles = await db.query(
      'SELECT role_id FROM author_role WHERE author_id = $1 ORDER BY role_id',
      [me.authorId],
    );
    const accounts = await db.query(
      'SELECT provider FROM oauth_account WHERE author_id = $1 ORDER BY provider',
      [me.authorId],
    );
    const [{ authors, events }] = await db.query(
      'SELECT (SELECT count(*) FROM author)::int AS authors, (SELECT count(*) FROM audit_event)::int AS events',
    );
    const sessions = await t
      .http()
      .get('/auth/sessions')
      .set('Authorization', `Bearer ${me.token}`);
    return {
      author,
      roles,
      accounts,
      authors,
      events,
      sessions:
        sessions.status === 200
          ? (sessions.body as Array<{ id: string }>).map((s) => s.id).sort()
          : `GET /auth/sessions answered ${sessions.status}`,
    };
  }

  async function send(c: Case, me: SignedIn, cookie: string | undefined): Promise<Response> {
    const [method, template] = c.route.split(' ');
    const path = template.replace('{uuid}', randomUUID());
    let req = t.http()[method.toLowerCase() as 'post' | 'put' | 'delete'](path);
    switch (c.caller) {
      case 'bearer':
        req = req.set('Authorization', `Bearer ${me.token}`);
        break;
      case 'forgedBearer': {
        const token = me.token!;
        const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
        req = req.set('Authorization', `Bearer ${forged}`);
        break;
      }
      case 'cookieNoOrigin':
        req = req.set('Cookie', cookie!);
        break;
      case 'cookieForeignOrigin':
        req = req.set('Cookie', cookie!).set('Origin', FOREIGN_ORIGIN);
        break;
      case 'anonymous':
        break;
    }
    if (c.raw) return req.set('Content-Type', c.raw.type).send(resolve(c.raw.text, me));
    const body = resolve(c.body, me);
    return body === undefined ? req : req.send(body as object);
  }

  it.each([...routeCases, ...bodyParsingCases])('$route, $what → $status', async (c) => {
    // A fresh author per case: a case that wrongly succeeded cannot spoil the next one.
    const me = await registerAuthor(t);
    const cookie = c.caller.startsWith('cookie')
      ? (await login(t, me.email, me.password, 'cookie')).cookie
      : undefined;
    const before = await snapshot(me);

    const res = await send(c, me, cookie);
    expectCleanError(res, c, secretsOf(me, resolve(c.body, me), cookie));
    // A refused request neither sets nor renews a session cookie.
    expect(sessionCookie(res, t.config.cookie.name)).toBeUndefined();
    expect(await snapshot(me)).toEqual(before);
  });

  it('refuses privilege fields on sign-up and stores no account', async () => {
    const email = `escalate-${randomUUID()}@example.test`;
    const res = await t
      .http()
      .post('/auth/register')
      .send({
        email,
        password: NEW_PASSWORD,
        roles: ['admin'],
        is_admin: true,
        email_verified: true,
        id: 1,
      });
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual(
      expect.arrayContaining([
        'property roles should not exist',
        'property is_admin should not exist',
        'property email_verified should not exist',
        'property id should not exist',
      ]),
    );
    await t.http().post('/auth/login').send({ email, password: NEW_PASSWORD }).expect(401);
    const rows = await db.query('SELECT id FROM author WHERE lower(email) = lower($1)', [email]);
    expect(rows).toEqual([]);
  });

  it('refuses privilege fields on a profile update and keeps roles and flags as they were', async () => {
    const me = await registerAuthor(t);
    const auth = { Authorization: `Bearer ${me.token}` };
    const res = await t
      .http()
      .put('/auth/profile')
      .set(auth)
      .send({
        name: 'Still Me',
        roles: ['admin'],
        permissions: ['admin'],
        email_verified: true,
        phone_verified: true,
        id: 1,
      });
    expect(res.status).toBe(400);
    expect(messageText(res.body.message)).toMatch(/property roles should not exist/);

    const profile = (await t.http().get('/auth/profile').set(auth).expect(200)).body;
    expect(profile).toMatchObject({
      id: me.authorId,
      name: me.body.author.name,
      roles: ['user'],
      permissions: ['read', 'write'],
      email_verified: false,
      phone_verified: false,
    });
  });

  it('keeps the old password when a change carries an extra field', async () => {
    const me = await registerAuthor(t);
    await t
      .http()
      .post('/auth/change-password')
      .set('Authorization', `Bearer ${me.token}`)
      .send({ old_password: me.password, new_password: NEW_PASSWORD, author_id: 1 })
      .expect(400);
    await login(t, me.email, me.password);
    await t
      .http()
      .post('/auth/login')
      .send({ email: me.email, password: NEW_PASSWORD })
      .expect(401);
  });
});

// ---------------------------------------------------------------------------------------------
// GraphQL
// ---------------------------------------------------------------------------------------------

interface GraphQLCase {
  what: string;
  auth: boolean;
  query: string;
  variables?: Record<string, unknown>;
  code: 'BAD_USER_INPUT' | 'GRAPHQL_VALIDATION_FAILED';
  message: RegExp;
}

const REGISTER = 'mutation R($input: RegisterInput!) { register(input: $input) { token } }';

const graphqlCases: GraphQLCase[] = [
  {
    what: 'register with an invalid email and a short password',
    auth: false,
    query: 'mutation { register(input: {email: "nope", password: "x"}) { token } }',
    code: 'BAD_USER_INPUT',
    message: /email must be an email address/,
  },
  {
    what: 'register without a selection (the query as a client might mistype it)',
    auth: false,
    query: 'mutation { register(input: {email: "nope", password: "x"}) }',
    code: 'GRAPHQL_VALIDATION_FAILED',
    message: /selection/,
  },
  {
    what: 'register with an unknown roles field inline',
    auth: false,
    query: `mutation { register(input: {email: "gq-${randomUUID()}@example.test", password: "${NEW_PASSWORD}", roles: ["admin"]}) { token } }`,
    code: 'GRAPHQL_VALIDATION_FAILED',
    message: /"roles" is not defined/,
  },
  {
    what: 'register with an unknown field in variables',
    auth: false,
    query: REGISTER,
    variables: {
      input: {
        email: `gq-${randomUUID()}@example.test`,
        password: NEW_PASSWORD,
        email_verified: true,
      },
    },
    code: 'BAD_USER_INPUT',
    message: /"email_verified" is not defined/,
  },
  {
    what: 'register with wrong types in variables',
    auth: false,
    query: REGISTER,
    variables: { input: { email: ['a@example.test'], password: 12345678 } },
    code: 'BAD_USER_INPUT',
    message: /String cannot represent a non string value/,
  },
  {
    what: 'login with a password of 1025 characters',
    auth: false,
    query: 'mutation L($input: LoginInput!) { login(input: $input) { token } }',
    variables: { input: { email: 'a@example.test', password: a(1025) } },
    code: 'BAD_USER_INPUT',
    message: /password must be shorter than or equal to 1024/,
  },
  {
    what: 'updateProfile with an unknown roles field',
    auth: true,
    query: 'mutation { updateProfile(input: {roles: ["admin"]}) { roles } }',
    code: 'GRAPHQL_VALIDATION_FAILED',
    message: /"roles" is not defined/,
  },
  {
    what: 'updateProfile with a slug of 51 characters',
    auth: true,
    query: `mutation { updateProfile(input: {slug: "${a(51)}"}) { slug } }`,
    code: 'BAD_USER_INPUT',
    message: /slug must be shorter than or equal to 50/,
  },
  {
    what: 'revokeSession with an id that is not a UUID',
    auth: true,
    query: 'mutation { revokeSession(id: "not-a-uuid") }',
    code: 'BAD_USER_INPUT',
    message: /uuid/i,
  },
];

describe('GraphQL: bad input', () => {
  let t: TestApp;
  let db: DataSource;

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
  });
  afterAll(() => t.close());

  const authorCount = async () =>
    (await db.query('SELECT count(*)::int AS n FROM author'))[0].n as number;

  it.each(graphqlCases)('$what → $code', async (c) => {
    const me = await registerAuthor(t);
    const authors = await authorCount();
    let req = t.http().post('/graphql');
    if (c.auth) req = req.set('Authorization', `Bearer ${me.token}`);
    const res = await req.send({ query: c.query, variables: c.variables });

    // Apollo answers 400 to requests it refuses before execution, 200 to resolver errors.
    expect([200, 400]).toContain(res.status);
    const errors = res.body.errors as Array<{
      message: string;
      extensions: Record<string, unknown>;
    }>;
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.map((e) => e.extensions.code)).not.toContain('INTERNAL_SERVER_ERROR');
    expect(errors[0].extensions.code).toBe(c.code);
    expect(errors.map((e) => e.message).join('\n')).toMatch(c.message);
    for (const error of errors) expect(error.extensions.stacktrace).toBeUndefined();
    expect(res.body.data ?? null).toBeNull();
    expect(res.text).not.toMatch(STACK_TRACE);
    expect(res.text).not.toMatch(SQL);
    expect(res.text).not.toMatch(JWT);
    expect(await authorCount()).toBe(authors);

    const profile = await t
      .http()
      .get('/auth/profile')
      .set('Authorization', `Bearer ${me.token}`)
      .expect(200);
    expect(profile.body).toEqual(me.body.author);
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['form-encoded', 'application/x-www-form-urlencoded'],
  ])('refuses a %s POST as a possible CSRF (400) and runs nothing', async (_name, type) => {
    const authors = await authorCount();
    const email = `csrf-${randomUUID()}@example.test`;
    const res = await t
      .http()
      .post('/graphql')
      .set('Content-Type', type)
      .send(
        JSON.stringify({
          query: `mutation { register(input: {email: "${email}", password: "${NEW_PASSWORD}"}) { token } }`,
        }),
      );
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/Cross-Site Request Forgery/);
    expect(res.text).not.toMatch(STACK_TRACE);
    expect(sessionCookie(res, t.config.cookie.name)).toBeUndefined();
    expect(await authorCount()).toBe(authors);
  });

  it('answers malformed JSON with 400 and a 200 kB body with 413, in Nest error shape', async () => {
    const malformed = await t
      .http()
      .post('/graphql')
      .set('Content-Type', 'application/json')
      .send('{"query": "mutation { logout }"');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({
      statusCode: 400,
      message: 'Request body is not valid JSON',
      error: 'Bad Request',
    });

    const huge = await t
      .http()
      .post('/graphql')
      .send({ query: '{ __typename }', variables: { padding: a(200 * 1024) } });
    expect(huge.status).toBe(413);
    expect(huge.body).toEqual({
      statusCode: 413,
      message: 'Request body is larger than 100kb',
      error: 'Payload Too Large',
    });
  });
});
