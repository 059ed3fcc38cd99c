import { createHash, createHmac, randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { AuthorRepository } from '../../../src/infra/database/tables/author.repository';
import { OAuthAccountRepository } from '../../../src/infra/database/tables/oauth-account.repository';
import { REDIS_STORE, type RedisStore } from '../../../src/infra/redis/redis-store';
import { registerAuthor } from '../../support/auth';
import { newAuthor } from '../../support/factories';
import { OAuthClient } from '../../support/oauth-client';
import type { TestApp } from '../../support/test-app';
import type { Attack, AttackContext } from '../attack';

// Sign-in with a provider (README, "Signing in with a provider"): the state, its binding to the
// browser, PKCE, the redirect_uri rule, Telegram's signature and the ban, attacked from outside.
// These defences came after the outside review and nothing has broken them, so the rows are
// `held`. Each row asserts the refusal and reads back that no session, author or link appeared.

const FRONTEND = 'https://frontend.test';
const CLIENT_ID = 'tessera-attack-suite';
const CLIENT_SECRET = 'tessera-attack-suite-secret';
const BOT_TOKEN = '7012345678:AAF-attack-suite-bot-token-0123456789';

const unique = () => randomBytes(4).toString('hex');

// ---------------------------------------------------------------- a strict GitHub on loopback

interface GithubIdentity {
  id: number;
  login: string;
  /** Served as the primary, verified address when set. */
  email: string | null;
}

function newIdentity(): GithubIdentity {
  return { id: randomInt(1_000_000, 2 ** 47), login: `gh-${unique()}`, email: null };
}

interface FakeGithub {
  url: string;
  /** Who is signed in at the provider: the identity the next authorization is for. */
  signIn(identity: GithubIdentity): void;
  /** Token requests received, and why each refused one was refused. */
  readonly tokenRequests: { refused: string | null }[];
  close(): Promise<void>;
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * GitHub's authorize, token, user and emails endpoints, as strict as a provider should be: a code
 * is good once, for the redirect_uri it was issued to, and only with the PKCE verifier whose S256
 * hash was the authorization request's challenge (RFC 7636, section 4.6).
 */
async function startFakeGithub(): Promise<FakeGithub> {
  let signedIn = newIdentity();
  const codes = new Map<
    string,
    { challenge: string; redirectUri: string; identity: GithubIdentity }
  >();
  const tokens = new Map<string, GithubIdentity>();
  const tokenRequests: { refused: string | null }[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const query = url.searchParams;
      const [challenge, redirectUri, state] = ['code_challenge', 'redirect_uri', 'state'].map(
        (name) => query.get(name),
      );
      if (
        query.get('client_id') !== CLIENT_ID ||
        query.get('code_challenge_method') !== 'S256' ||
        !challenge ||
        !redirectUri ||
        !state
      ) {
        return sendJson(res, 400, { error: 'invalid_request' });
      }
      const code = randomBytes(16).toString('hex');
      codes.set(code, { challenge, redirectUri, identity: signedIn });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', state);
      return res.writeHead(302, { Location: back.href }).end();
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      const body = new URLSearchParams(await readBody(req));
      const code = body.get('code') ?? '';
      const issued = codes.get(code);
      codes.delete(code);
      const verifier = body.get('code_verifier');
      const refused = !issued
        ? 'unknown or used code'
        : body.get('client_id') !== CLIENT_ID || body.get('client_secret') !== CLIENT_SECRET
          ? 'client credentials'
          : body.get('redirect_uri') !== issued.redirectUri
            ? 'redirect_uri'
            : !verifier
              ? 'no code_verifier'
              : s256(verifier) !== issued.challenge
                ? 'code_verifier does not match the code_challenge'
                : null;
      tokenRequests.push({ refused });
      if (refused)
        return sendJson(res, 400, { error: 'invalid_grant', error_description: refused });
      const accessToken = randomBytes(16).toString('hex');
      tokens.set(accessToken, issued!.identity);
      return sendJson(res, 200, { access_token: accessToken, token_type: 'bearer', scope: '' });
    }
    const identity = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (req.method === 'GET' && identity && url.pathname === '/user') {
      return sendJson(res, 200, {
        id: identity.id,
        login: identity.login,
        name: null,
        avatar_url: null,
      });
    }
    if (req.method === 'GET' && identity && url.pathname === '/user/emails') {
      const { email } = identity;
      return sendJson(res, 200, email ? [{ email, primary: true, verified: true }] : []);
    }
    sendJson(res, identity ? 404 : 401, { message: 'Not Found' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendJson(res, 500, { message: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    signIn: (identity) => (signedIn = identity),
    tokenRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One app with GitHub (on the fake) and Telegram enabled, shared by the rows; the fake closes with it. */
let setup: Promise<{ t: TestApp; github: FakeGithub }> | undefined;
const oauthApp = (ctx: AttackContext) =>
  (setup ??= (async () => {
    const github = await startFakeGithub();
    try {
      const t = await ctx.boot({
        FRONTEND_URL: FRONTEND,
        GITHUB_CLIENT_ID: CLIENT_ID,
        GITHUB_CLIENT_SECRET: CLIENT_SECRET,
        GITHUB_AUTHORIZATION_URL: `${github.url}/login/oauth/authorize`,
        GITHUB_TOKEN_URL: `${github.url}/login/oauth/access_token`,
        GITHUB_USERINFO_URL: `${github.url}/user`,
        TELEGRAM_BOT_TOKEN: BOT_TOKEN,
        // Every row starts flows from 127.0.0.1; the per-IP start limit is not what they attack.
        RATE_LIMIT_OAUTH_START_IP: '10000/60',
      });
      t.app.getHttpServer().once('close', () => void github.close());
      return { t, github };
    } catch (error) {
      await github.close();
      throw error;
    }
  })());

// ---------------------------------------------------------------- flows as a browser runs them

function startUrl(t: TestApp, provider: string, query: Record<string, string> = {}): string {
  const params = new URLSearchParams({ redirect_uri: `${FRONTEND}/signed-in`, ...query });
  return `${t.baseUrl}/oauth/${provider}?${params}`;
}

/** A GitHub sign-in in `browser` up to the provider's redirect back: the callback URL, not opened. */
async function githubCallback(
  t: TestApp,
  browser: OAuthClient,
  query: Record<string, string> = {},
): Promise<URL> {
  const start = await browser.get(startUrl(t, 'github', query));
  expect(start.status).toBe(302);
  const authorize = await browser.get(start.headers.get('location')!);
  expect(authorize.status).toBe(302);
  const callback = new URL(authorize.headers.get('location')!);
  expect(callback.href.startsWith(`${t.baseUrl}/oauth/github/callback?`)).toBe(true);
  return callback;
}

interface Opened {
  status: number;
  /** Where the app sent the browser, if it redirected. */
  location: URL | null;
  /** A non-empty session cookie was set. */
  sessionCookie: boolean;
  body: string;
}

async function open(t: TestApp, browser: OAuthClient, url: URL | string): Promise<Opened> {
  const res = await browser.get(String(url));
  const location = res.headers.get('location');
  return {
    status: res.status,
    location: location === null ? null : new URL(location),
    sessionCookie: res.headers
      .getSetCookie()
      .some((line) => line.startsWith(`${t.config.cookie.name}=`) && !/^[^=]+=;/.test(line)),
    body: await res.text(),
  };
}

/** Sent back to the client with `error=<code>` (and its own state), and signed into nothing. */
function expectErrorRedirect(opened: Opened, code: string, clientState?: string): void {
  expect(opened.status).toBe(302);
  expect(opened.location?.origin).toBe(FRONTEND);
  expect(opened.location?.searchParams.get('error')).toBe(code);
  if (clientState !== undefined) {
    expect(opened.location?.searchParams.get('state')).toBe(clientState);
  }
  expect(opened.sessionCookie).toBe(false);
}

/** A state the app does not hold (used, expired, never issued): no flow, so no redirect target. */
function expectUnknownState(opened: Opened): void {
  expect(opened.status).toBe(400);
  expect(opened.location).toBeNull();
  expect(JSON.parse(opened.body)).toMatchObject({
    statusCode: 400,
    message: expect.stringMatching(/invalid_state/),
  });
  expect(opened.sessionCookie).toBe(false);
}

async function keys(t: TestApp, pattern: string): Promise<string[]> {
  const found = new Set<string>();
  for await (const batch of t.app.get<RedisStore>(REDIS_STORE).scan(pattern, 500)) {
    for (const key of batch) found.add(key);
  }
  return [...found];
}

/** What a sign-in writes: authors, provider links, sessions. */
async function world(t: TestApp): Promise<{ authors: number; links: number; sessions: number }> {
  const db = t.app.get(DataSource);
  const [{ authors }] = await db.query('SELECT count(*)::int AS authors FROM author');
  const [{ links }] = await db.query('SELECT count(*)::int AS links FROM oauth_account');
  return { authors, links, sessions: (await keys(t, 'session:*')).length };
}

function linkOf(t: TestApp, provider: string, providerId: number | string) {
  return t.app.get(OAuthAccountRepository).findByProviderId(provider, String(providerId));
}

// ---------------------------------------------------------------- Telegram

/** The widget's fields with their `hash`: HMAC-SHA256 under SHA-256(bot token) of the sorted lines. */
function signTelegram(
  fields: Record<string, string>,
  botToken = BOT_TOKEN,
): Record<string, string> {
  const dataCheck = Object.keys(fields)
    .sort()
    .map((name) => `${name}=${fields[name]}`)
    .join('\n');
  const secret = createHash('sha256').update(botToken).digest();
  return { ...fields, hash: createHmac('sha256', secret).update(dataCheck).digest('hex') };
}

function telegramLogin(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    id: String(randomInt(1_000_000, 2 ** 40)),
    first_name: 'Tele',
    username: `tg_${unique()}`,
    auth_date: String(Math.floor(Date.now() / 1000)),
    ...overrides,
  };
}

/** A fresh Telegram flow in a new browser, its callback opened with `fields` (as the relay page does). */
async function telegramCallback(
  t: TestApp,
  fields: Record<string, string>,
): Promise<Opened & { clientState: string }> {
  const browser = new OAuthClient(FRONTEND);
  const clientState = `tg-${unique()}`;
  const start = await browser.get(startUrl(t, 'telegram', { state: clientState }));
  expect(start.status).toBe(302);
  const callback = new URL(new URL(start.headers.get('location')!).searchParams.get('return_to')!);
  for (const [name, value] of Object.entries(fields)) callback.searchParams.set(name, value);
  return { ...(await open(t, browser, callback)), clientState };
}

// ---------------------------------------------------------------- the rows

export const attacks: Attack[] = [
  {
    name: 'replay a callback URL (code and state) that already signed in, with and without a copy of its flow cookie',
    status: 'held',
    run: async (ctx) => {
      const { t, github } = await oauthApp(ctx);
      const identity = newIdentity();
      github.signIn(identity);
      const victim = new OAuthClient(FRONTEND);
      const callback = await githubCallback(t, victim, { state: 'client-1' });
      const flowCookie = victim.cookie(t.baseUrl, 'oauth_flow')!;
      expect(flowCookie).toBeDefined();
      const first = await open(t, victim, callback);
      expect(first.location?.href).toBe(`${FRONTEND}/signed-in?state=client-1`);
      expect(first.sessionCookie).toBe(true);
      const before = await world(t);
      const exchanges = github.tokenRequests.length;

      const thief = new OAuthClient(FRONTEND);
      thief.setCookie(t.baseUrl, 'oauth_flow', flowCookie);
      expectUnknownState(await open(t, thief, callback));
      // The victim's own browser again (its flow cookie was cleared by the first callback).
      expectUnknownState(await open(t, victim, callback));

      expect(await world(t)).toEqual(before);
      // Refused on the state: the code never went to the provider a second time.
      expect(github.tokenRequests.length).toBe(exchanges);
    },
  },
  {
    name: 'open a callback in a browser that did not start the flow: no flow cookie, or another flow’s cookie',
    status: 'held',
    run: async (ctx) => {
      const { t, github } = await oauthApp(ctx);
      const identity = newIdentity();
      github.signIn(identity);
      const before = await world(t);
      const exchanges = github.tokenRequests.length;

      const first = await githubCallback(t, new OAuthClient(FRONTEND), { state: 'client-a' });
      expectErrorRedirect(
        await open(t, new OAuthClient(FRONTEND), first),
        'invalid_state',
        'client-a',
      );

      const second = await githubCallback(t, new OAuthClient(FRONTEND), { state: 'client-b' });
      const other = new OAuthClient(FRONTEND);
      await githubCallback(t, other); // its own flow, so it holds a flow cookie of its own
      expect(other.cookie(t.baseUrl, 'oauth_flow')).toBeDefined();
      expectErrorRedirect(await open(t, other, second), 'invalid_state', 'client-b');

      expect(await world(t)).toEqual(before);
      expect(await linkOf(t, 'github', identity.id)).toBeNull();
      expect(github.tokenRequests.length).toBe(exchanges);
    },
  },
  {
    name: 'present a GitHub flow’s state, with its flow cookie, on the Telegram callback',
    status: 'held',
    run: async (ctx) => {
      const { t } = await oauthApp(ctx);
      const browser = new OAuthClient(FRONTEND);
      const github = await githubCallback(t, browser, { state: 'client-gh' });
      const fields = signTelegram(telegramLogin());
      const before = await world(t);

      const callback = new URL(`${t.baseUrl}/oauth/telegram/callback`);
      callback.searchParams.set('state', github.searchParams.get('state')!);
      for (const [name, value] of Object.entries(fields)) callback.searchParams.set(name, value);
      expectErrorRedirect(await open(t, browser, callback), 'invalid_state', 'client-gh');

      expect(await world(t)).toEqual(before);
      expect(await linkOf(t, 'telegram', fields.id)).toBeNull();
    },
  },
  {
    name: 'an expired state (its key gone from Redis), a state never issued, a malformed or missing state',
    status: 'held',
    run: async (ctx) => {
      const { t, github } = await oauthApp(ctx);
      github.signIn(newIdentity());
      const browser = new OAuthClient(FRONTEND);
      const callback = await githubCallback(t, browser);
      const state = callback.searchParams.get('state')!;
      const store = t.app.get<RedisStore>(REDIS_STORE);
      expect(await store.del(`oauth_state:${state}`)).toBe(1);
      const before = await world(t);
      const exchanges = github.tokenRequests.length;

      expectUnknownState(await open(t, browser, callback));
      const code = callback.searchParams.get('code')!;
      for (const forged of [randomBytes(32).toString('base64url'), 'short', '']) {
        await githubCallback(t, browser); // a live flow cookie in this browser
        const url = new URL(`${t.baseUrl}/oauth/github/callback`);
        url.searchParams.set('code', code);
        if (forged) url.searchParams.set('state', forged);
        expectUnknownState(await open(t, browser, url));
      }

      expect(await world(t)).toEqual(before);
      expect(github.tokenRequests.length).toBe(exchanges);
    },
  },
  {
    name: 'inject the victim’s authorization code into the attacker’s own callback (PKCE verifier of another flow)',
    status: 'held',
    run: async (ctx) => {
      const { t, github } = await oauthApp(ctx);
      const victimIdentity = newIdentity();
      github.signIn(victimIdentity);
      const victimCallback = await githubCallback(t, new OAuthClient(FRONTEND));
      const attackerIdentity = newIdentity();
      github.signIn(attackerIdentity);
      const attacker = new OAuthClient(FRONTEND);
      const attackerCallback = await githubCallback(t, attacker, { state: 'mine' });
      const before = await world(t);
      const exchanges = github.tokenRequests.length;

      // The attacker's state and flow cookie are genuine; only the code is the victim's.
      attackerCallback.searchParams.set('code', victimCallback.searchParams.get('code')!);
      expectErrorRedirect(await open(t, attacker, attackerCallback), 'provider_error', 'mine');

      // The provider refused the exchange for the verifier, not for anything else.
      expect(github.tokenRequests.slice(exchanges)).toEqual([
        { refused: 'code_verifier does not match the code_challenge' },
      ]);
      expect(await world(t)).toEqual(before);
      expect(await linkOf(t, 'github', victimIdentity.id)).toBeNull();
      expect(await linkOf(t, 'github', attackerIdentity.id)).toBeNull();
    },
  },
  {
    name: 'redirect_uri on another origin, or tricked: look-alike host, userinfo, query, scheme-relative, javascript:, backslashes',
    status: 'held',
    run: async (ctx) => {
      const { t, github } = await oauthApp(ctx);
      const tricks = [
        'https://evil.test/steal',
        'https://frontend.test.evil.test/',
        'https://frontend.test@evil.test/',
        'https://evil.test/?x=https://frontend.test',
        '//evil.test',
        '/\\evil.test',
        'javascript:alert(1)',
        'javascript://frontend.test/%0aalert(1)',
        'data:text/html,<script>alert(1)</script>',
        'https:\\\\evil.test\\',
        'https://evil.test\\@frontend.test/',
        'https://user:pw@frontend.test/',
        'http://frontend.test/',
        'https://frontend.test:8443/',
        `https://frontend.test/${'a'.repeat(2100)}`,
      ];
      const flowsBefore = (await keys(t, 'oauth_state:*')).length;
      const before = await world(t);
      for (const provider of ['github', 'telegram']) {
        for (const redirectUri of tricks) {
          const browser = new OAuthClient(FRONTEND);
          const res = await browser.get(startUrl(t, provider, { redirect_uri: redirectUri }));
          expect({ redirectUri, status: res.status }).toEqual({ redirectUri, status: 400 });
          expect(res.headers.get('location')).toBeNull();
          expect(res.headers.get('content-type')).toMatch(/^application\/json/);
          expect(((await res.json()) as { message: string }).message).toMatch(/redirect_uri/);
          expect(browser.cookie(t.baseUrl, 'oauth_flow')).toBeUndefined();
        }
      }
      expect((await keys(t, 'oauth_state:*')).length).toBe(flowsBefore);
      expect(await world(t)).toEqual(before);
      // Control: the frontend's own origin goes on to the provider.
      const ok = await new OAuthClient(FRONTEND).get(startUrl(t, 'github'));
      expect(ok.status).toBe(302);
      expect(ok.headers.get('location')!.startsWith(github.url)).toBe(true);
    },
  },
  {
    name: 'Telegram login with a forged hash: another bot’s secret, one field changed after signing, an extra signed field',
    status: 'held',
    run: async (ctx) => {
      const { t } = await oauthApp(ctx);
      const login = telegramLogin();
      const before = await world(t);
      const forgeries = [
        signTelegram(login, '7099999999:AAF-some-other-bot-token-9876543210'),
        { ...signTelegram(login), id: String(Number(login.id) + 1) },
        { ...signTelegram(login), first_name: 'Admin' },
        signTelegram({ ...login, is_admin: 'true' }),
        { ...signTelegram(login), hash: '0'.repeat(64) },
      ];
      for (const fields of forgeries) {
        const opened = await telegramCallback(t, fields);
        expectErrorRedirect(opened, 'invalid_request', opened.clientState);
      }
      expect(await world(t)).toEqual(before);
      for (const id of [login.id, String(Number(login.id) + 1)]) {
        expect(await linkOf(t, 'telegram', id)).toBeNull();
      }
      // Control: the same login signed with the bot's token signs in.
      const genuine = await telegramCallback(t, signTelegram(login));
      expect(genuine.location?.searchParams.get('error')).toBeNull();
      expect(genuine.sessionCookie).toBe(true);
    },
  },
  {
    name: 'Telegram login correctly signed but stale (auth_date over a day old) or from the future',
    status: 'held',
    run: async (ctx) => {
      const { t } = await oauthApp(ctx);
      const now = Math.floor(Date.now() / 1000);
      const logins = [now - 86_400 - 60, now - 30 * 86_400, now + 3600].map((date) =>
        telegramLogin({ auth_date: String(date) }),
      );
      const before = await world(t);
      for (const login of logins) {
        const opened = await telegramCallback(t, signTelegram(login));
        expectErrorRedirect(opened, 'invalid_request', opened.clientState);
        expect(await linkOf(t, 'telegram', login.id)).toBeNull();
      }
      expect(await world(t)).toEqual(before);
    },
  },
  {
    name: 'sign in with the provider identity of a banned author',
    status: 'held',
    run: async (ctx) => {
      const { t, github } = await oauthApp(ctx);
      const identity = newIdentity();
      const authors = t.app.get(AuthorRepository);
      const banned = await authors.create(newAuthor(), 'user', {
        provider: 'github',
        providerId: String(identity.id),
        providerEmail: null,
        providerData: {},
      });
      expect(await authors.ban(banned.id)).toBe('banned');
      github.signIn(identity);
      const before = await world(t);

      const browser = new OAuthClient(FRONTEND);
      const callback = await githubCallback(t, browser, { state: 'client-banned' });
      expectErrorRedirect(await open(t, browser, callback), 'account_banned', 'client-banned');

      expect(browser.cookie(t.baseUrl, t.config.cookie.name)).toBeUndefined();
      expect(await keys(t, `session:${banned.id}:*`)).toEqual([]);
      expect(await world(t)).toEqual(before);
      expect((await linkOf(t, 'github', identity.id))?.authorId).toBe(banned.id);
    },
  },
  {
    name: 'login CSRF: the attacker’s own callback URL (code and state) opened in the victim’s browser',
    status: 'held',
    run: async (ctx) => {
      const { t, github } = await oauthApp(ctx);
      const attackerIdentity = newIdentity();
      github.signIn(attackerIdentity);
      const attacker = new OAuthClient(FRONTEND);
      const forAnonymous = await githubCallback(t, attacker, { state: 'attacker' });
      const forSignedIn = await githubCallback(t, attacker, { state: 'attacker' });

      const victim = await registerAuthor(t, 'cookie');
      const [name, value] = victim.cookie!.split('=');
      const before = await world(t);
      const exchanges = github.tokenRequests.length;

      // A visitor who is not signed in: they must not end up signed in as the attacker.
      const anonymous = new OAuthClient(FRONTEND);
      expectErrorRedirect(await open(t, anonymous, forAnonymous), 'invalid_state', 'attacker');
      expect(anonymous.cookie(t.baseUrl, t.config.cookie.name)).toBeUndefined();

      // A signed-in victim in the middle of a flow of their own: still themselves, nothing linked.
      const browser = new OAuthClient(FRONTEND);
      browser.setCookie(t.baseUrl, name, value);
      await githubCallback(t, browser);
      expectErrorRedirect(await open(t, browser, forSignedIn), 'invalid_state', 'attacker');
      expect(browser.cookie(t.baseUrl, name)).toBe(value);
      const profile = await browser.get(`${t.baseUrl}/auth/profile`);
      expect(((await profile.json()) as { id: number }).id).toBe(victim.authorId);
      expect(await (await browser.get(`${t.baseUrl}/auth/accounts`)).json()).toEqual([]);

      expect(await world(t)).toEqual(before);
      expect(await linkOf(t, 'github', attackerIdentity.id)).toBeNull();
      expect(github.tokenRequests.length).toBe(exchanges);
    },
  },
];
