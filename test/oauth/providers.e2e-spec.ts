import { createHash, createHmac, randomBytes, randomInt } from 'node:crypto';
import { AuthorRepository } from '../../src/infra/database/tables/author.repository';
import { OAuthAccountRepository } from '../../src/infra/database/tables/oauth-account.repository';
import {
  FACEBOOK_GRAPH_VERSION,
  OAUTH2_PROVIDER_DEFINITIONS,
  VK_API_VERSION,
} from '../../src/oauth/oauth-providers';
import { registerAuthor } from '../support/auth';
import {
  type ApiRequest,
  basicCredentials,
  FAKE_PROVIDERS,
  FakeProvider,
  type FakePerson,
  type FakeProviderName,
  newPerson,
} from '../support/fake-provider';
import { OAuthClient } from '../support/oauth-client';
import { startTestApp, type TestApp } from '../support/test-app';

const FRONTEND = 'http://frontend.test';
const LANDING = `${FRONTEND}/signed-in`;
const BOT_TOKEN = `${randomInt(1_000_000_000, 9_999_999_999)}:AA${randomBytes(24).toString('base64url')}`;
const STATE = /^[A-Za-z0-9_-]{43}$/;

type Json = Record<string, any>;

/**
 * What each provider documents, stated here independently of the definitions in src/oauth: the
 * scope string, PKCE, how the client authenticates, how the profile API takes the token, whether
 * the definition may treat an email as verified, and where the name and picture are in the
 * provider's answers (README, "Signing in with a provider").
 */
interface ProviderCase {
  name: FakeProviderName;
  scope: string;
  pkce: boolean;
  basicAuth: boolean;
  /** The provider says whether the email is confirmed (Google, GitHub). */
  vouchesForEmail: boolean;
  /** The provider gives an email at all (X is not asked for one). */
  givesEmail: boolean;
  /** The profile requests, as `METHOD path`, each with how it carries the access token. */
  api: { request: string; via: NonNullable<ApiRequest['token']>['via'] }[];
  /** The name and picture as the provider's profile answers (in request order) give them. */
  mapped(answers: Json[]): { name: string; pic: string };
  /** Anything else the provider documents about the requests. */
  documented(fake: FakeProvider): void;
}

const CASES: ProviderCase[] = [
  {
    name: 'google',
    scope: 'openid email profile',
    pkce: true,
    basicAuth: false,
    vouchesForEmail: true,
    givesEmail: true,
    api: [{ request: 'GET /v1/userinfo', via: 'bearer' }],
    mapped: ([info]) => ({ name: info.name, pic: info.picture }),
    documented: () => undefined,
  },
  {
    name: 'github',
    scope: 'read:user user:email',
    pkce: true,
    basicAuth: false,
    vouchesForEmail: true,
    givesEmail: true,
    api: [
      { request: 'GET /user', via: 'bearer' },
      { request: 'GET /user/emails', via: 'bearer' },
    ],
    mapped: ([user]) => ({ name: user.name, pic: user.avatar_url }),
    documented: (fake) => {
      // JSON only when asked for; the REST API wants its media type and a User-Agent.
      expect(fake.tokenRequests[0].headers.accept).toMatch(/application\/json/);
      for (const request of fake.apiRequests) {
        expect(request.headers.accept).toBe('application/vnd.github+json');
        expect(request.headers['user-agent']).toBe('Tessera');
      }
    },
  },
  {
    name: 'facebook',
    scope: 'email,public_profile',
    pkce: false,
    basicAuth: false,
    vouchesForEmail: false,
    givesEmail: true,
    api: [{ request: `GET /${FACEBOOK_GRAPH_VERSION}/me`, via: 'query' }],
    mapped: ([me]) => ({ name: me.name, pic: me.picture.data.url }),
    documented: (fake) => {
      expect(fake.apiRequests[0].url.searchParams.get('fields')).toBe(
        'id,name,email,picture.type(large)',
      );
    },
  },
  {
    name: 'x',
    scope: 'users.read tweet.read',
    pkce: true,
    basicAuth: true,
    vouchesForEmail: false,
    givesEmail: false,
    api: [{ request: 'GET /2/users/me', via: 'bearer' }],
    mapped: ([{ data }]) => ({ name: data.name, pic: data.profile_image_url }),
    documented: (fake) => {
      expect(fake.apiRequests[0].url.searchParams.get('user.fields')).toBe('profile_image_url');
    },
  },
  {
    name: 'vk',
    scope: 'email',
    pkce: false,
    basicAuth: false,
    vouchesForEmail: false,
    givesEmail: true,
    api: [{ request: 'POST /method/users.get', via: 'body' }],
    mapped: ([{ response }]) => ({
      name: `${response[0].first_name} ${response[0].last_name}`,
      pic: response[0].photo_200,
    }),
    documented: (fake) => {
      expect(fake.authorizations[0].get('v')).toBe(VK_API_VERSION);
      const [usersGet] = fake.apiRequests;
      expect(usersGet.body.get('v')).toBe(VK_API_VERSION);
      expect(usersGet.body.get('fields')).toBe('photo_200');
      // The token stays out of the URL (and so out of access logs).
      expect(usersGet.url.search).toBe('');
    },
  },
  {
    name: 'yandex',
    scope: 'login:info login:email login:avatar',
    pkce: true,
    basicAuth: false,
    vouchesForEmail: false,
    givesEmail: true,
    api: [{ request: 'GET /info', via: 'oauth' }],
    mapped: ([info]) => ({
      name: info.real_name,
      pic: `https://avatars.yandex.net/get-yapic/${info.default_avatar_id}/islands-200`,
    }),
    documented: (fake) => {
      expect(fake.apiRequests[0].url.searchParams.get('format')).toBe('json');
    },
  },
];

const ENV_PREFIX: Record<FakeProviderName, string> = {
  google: 'GOOGLE',
  github: 'GITHUB',
  facebook: 'FACEBOOK',
  x: 'X',
  vk: 'VK',
  yandex: 'YANDEX',
};

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
const placeholder = (provider: string, id: string) => `${provider}-${id}@users.oauth.invalid`;

/**
 * Every OAuth 2.0 provider through its real HTTP flow (browser stand-in, the app, a loopback fake of
 * the provider that answers as the provider documents), and Telegram's signed widget callback.
 */
describe('sign-in with each provider, against fakes that answer as the providers document', () => {
  const fakes = {} as Record<FakeProviderName, FakeProvider>;
  let t: TestApp;
  let authors: AuthorRepository;
  let accounts: OAuthAccountRepository;

  beforeAll(async () => {
    const env: Record<string, string> = {
      FRONTEND_URL: FRONTEND,
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      // Every flow starts from 127.0.0.1; the per-IP start limit is not under test here.
      RATE_LIMIT_OAUTH_START_IP: '10000/60',
    };
    for (const name of FAKE_PROVIDERS) {
      const fake = await new FakeProvider(name).start();
      fakes[name] = fake;
      const definition = OAUTH2_PROVIDER_DEFINITIONS[name];
      const prefix = ENV_PREFIX[name];
      Object.assign(env, {
        [`${prefix}_CLIENT_ID`]: fake.clientId,
        [`${prefix}_CLIENT_SECRET`]: fake.clientSecret,
        // The documented URLs, paths and queries unchanged, on the fake's origin.
        [`${prefix}_AUTHORIZATION_URL`]: fake.rebase(definition.authorizationUrl),
        [`${prefix}_TOKEN_URL`]: fake.rebase(definition.tokenUrl),
        [`${prefix}_USERINFO_URL`]: fake.rebase(definition.userinfoUrl),
      });
    }
    t = await startTestApp(env);
    authors = t.app.get(AuthorRepository);
    accounts = t.app.get(OAuthAccountRepository);
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all(Object.values(fakes).map((fake) => fake.stop()));
  });
  beforeEach(() => {
    for (const fake of Object.values(fakes)) fake.reset();
  });

  const startUrl = (provider: string, clientState: string) =>
    `${t.baseUrl}/oauth/${provider}?${new URLSearchParams({ state: clientState, redirect_uri: LANDING })}`;

  /** A browser's whole round trip with `person` signed in at the provider. */
  async function signIn(provider: FakeProviderName, person: FakePerson) {
    fakes[provider].person = person;
    const browser = new OAuthClient(FRONTEND);
    const clientState = `client-${randomBytes(4).toString('hex')}`;
    const { landed, last } = await browser.follow(startUrl(provider, clientState));
    expect(landed).toBeDefined();
    if (!landed) throw new Error(`no landing; last answer ${last.status}`);
    return { browser, landed, clientState };
  }

  function expectLanded(landed: URL, query: Record<string, string>): void {
    expect(`${landed.origin}${landed.pathname}`).toBe(LANDING);
    expect(Object.fromEntries(landed.searchParams)).toEqual(query);
  }

  async function read(browser: OAuthClient, path: string): Promise<any> {
    const res = await browser.get(`${t.baseUrl}${path}`);
    expect(res.status).toBe(200);
    return res.json();
  }

  async function accountsOfBearer(token: string): Promise<Json[]> {
    const res = await t.http().get('/auth/accounts').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    return res.body;
  }

  const authorCount = async () => (await authors.search({ limit: 100_000 })).length;

  it('lists every configured provider', async () => {
    const res = await t.http().get('/oauth/providers').expect(200);
    expect([...res.body.providers].sort()).toEqual([...FAKE_PROVIDERS, 'telegram'].sort());
  });

  describe.each(CASES)('$name', (c) => {
    const fake = () => fakes[c.name];
    const callbackUrl = () => `${t.baseUrl}/oauth/${c.name}/callback`;

    it('sends what the provider documents and shows the mapped profile', async () => {
      const person = newPerson({ emailVerified: c.vouchesForEmail });
      const { browser, landed, clientState } = await signIn(c.name, person);
      expectLanded(landed, { state: clientState });

      const [authorize] = fake().authorizations;
      expect(authorize.get('client_id')).toBe(fake().clientId);
      expect(authorize.get('response_type')).toBe('code');
      expect(authorize.get('redirect_uri')).toBe(callbackUrl());
      expect(authorize.get('scope')).toBe(c.scope);
      expect(authorize.get('state')).toMatch(STATE);

      expect(fake().tokenRequests).toHaveLength(1);
      const [exchange] = fake().tokenRequests;
      expect(exchange.status).toBe(200);
      expect(exchange.body.get('grant_type')).toBe('authorization_code');
      expect(exchange.body.get('redirect_uri')).toBe(callbackUrl());
      if (c.pkce) {
        expect(authorize.get('code_challenge_method')).toBe('S256');
        const verifier = exchange.body.get('code_verifier')!;
        expect(verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
        expect(authorize.get('code_challenge')).toBe(s256(verifier));
      } else {
        expect(authorize.has('code_challenge')).toBe(false);
        expect(authorize.has('code_challenge_method')).toBe(false);
        expect(exchange.body.has('code_verifier')).toBe(false);
      }
      if (c.basicAuth) {
        expect(basicCredentials(exchange.headers.authorization)).toEqual({
          id: fake().clientId,
          secret: fake().clientSecret,
        });
      } else {
        expect(exchange.headers.authorization).toBeUndefined();
        expect(exchange.body.get('client_id')).toBe(fake().clientId);
        expect(exchange.body.get('client_secret')).toBe(fake().clientSecret);
      }

      const accessToken = (exchange.answer as Json).access_token as string;
      const calls = fake().apiRequests;
      expect(calls.map((call) => `${call.method} ${call.url.pathname}`)).toEqual(
        c.api.map((call) => call.request),
      );
      expect(calls.map((call) => call.token)).toEqual(
        c.api.map((call) => ({ via: call.via, value: accessToken })),
      );
      expect(calls.map((call) => call.status)).toEqual(c.api.map(() => 200));
      c.documented(fake());

      const expected = c.mapped(calls.map((call) => call.answer as Json));
      expect(expected.name).toBe(`${person.firstName} ${person.lastName}`);
      const verified = c.vouchesForEmail && c.givesEmail;
      expect(await read(browser, '/auth/profile')).toMatchObject({
        ...expected,
        email: verified ? person.email : placeholder(c.name, person.id),
        email_verified: verified,
        roles: ['user'],
      });
      expect(await read(browser, '/auth/accounts')).toEqual([
        expect.objectContaining({
          provider: c.name,
          provider_id: person.id,
          provider_email: c.givesEmail ? person.email : null,
        }),
      ]);
    });

    it('signs the same identity in again as the same author', async () => {
      const person = newPerson();
      const first = await signIn(c.name, person);
      const { id } = await read(first.browser, '/auth/profile');
      const second = await signIn(c.name, person);
      expectLanded(second.landed, { state: second.clientState });
      expect((await read(second.browser, '/auth/profile')).id).toBe(id);
      expect(await read(second.browser, '/auth/accounts')).toHaveLength(1);
    });

    if (c.vouchesForEmail) {
      it('links a verified email that matches an author to that author', async () => {
        const author = await registerAuthor(t);
        const person = newPerson({ email: author.email, emailVerified: true });
        const { browser, landed, clientState } = await signIn(c.name, person);
        expectLanded(landed, { state: clientState });
        expect(await read(browser, '/auth/profile')).toMatchObject({
          id: author.authorId,
          email: author.email,
        });
        expect(await accountsOfBearer(author.token!)).toEqual([
          expect.objectContaining({ provider: c.name, provider_id: person.id }),
        ]);
      });
    }

    if (c.givesEmail) {
      it('does not link an unverified email that matches an author: a new author with a placeholder', async () => {
        const author = await registerAuthor(t);
        const person = newPerson({ email: author.email, emailVerified: false });
        const { browser, landed, clientState } = await signIn(c.name, person);
        expectLanded(landed, { state: clientState });
        const profile = await read(browser, '/auth/profile');
        expect(profile.id).not.toBe(author.authorId);
        expect(profile).toMatchObject({
          email: placeholder(c.name, person.id),
          email_verified: false,
        });
        expect(await accountsOfBearer(author.token!)).toEqual([]);
      });
    } else {
      it('gives an author without an email the placeholder address, unverified', async () => {
        const person = newPerson({ email: null, emailVerified: false });
        const { browser, landed, clientState } = await signIn(c.name, person);
        expectLanded(landed, { state: clientState });
        expect(await read(browser, '/auth/profile')).toMatchObject({
          email: placeholder(c.name, person.id),
          email_verified: false,
        });
        expect(await read(browser, '/auth/accounts')).toEqual([
          expect.objectContaining({ provider: c.name, provider_email: null }),
        ]);
      });
    }

    it('answers a token endpoint outage with error=provider_error and creates no author', async () => {
      fake().tokenOutage = true;
      const before = await authorCount();
      const person = newPerson();
      const { browser, landed, clientState } = await signIn(c.name, person);
      expectLanded(landed, { error: 'provider_error', state: clientState });
      expect(fake().tokenRequests.map((request) => request.status)).toEqual([500]);
      expect(fake().apiRequests).toEqual([]);
      expect(browser.cookie(t.baseUrl, t.config.cookie.name)).toBeUndefined();
      expect(await authorCount()).toBe(before);
      expect(await accounts.findByProviderId(c.name, person.id)).toBeNull();
    });

    it('answers a code the provider refuses, as it documents the refusal, with error=provider_error', async () => {
      fake().refuseCodes = true;
      const before = await authorCount();
      const { browser, landed, clientState } = await signIn(c.name, newPerson());
      expectLanded(landed, { error: 'provider_error', state: clientState });
      expect(fake().apiRequests).toEqual([]);
      expect(browser.cookie(t.baseUrl, t.config.cookie.name)).toBeUndefined();
      expect(await authorCount()).toBe(before);
    });

    it('answers a profile without an id with error=invalid_profile and creates no author', async () => {
      fake().profileWithoutId = true;
      const before = await authorCount();
      const { browser, landed, clientState } = await signIn(c.name, newPerson());
      expectLanded(landed, { error: 'invalid_profile', state: clientState });
      expect(fake().apiRequests.length).toBeGreaterThan(0);
      expect(browser.cookie(t.baseUrl, t.config.cookie.name)).toBeUndefined();
      expect(await authorCount()).toBe(before);
    });
  });

  describe('telegram', () => {
    /** Signs the widget's fields as Telegram does (https://core.telegram.org/widgets/login#checking-authorization). */
    function telegramHash(fields: Record<string, string>): string {
      const dataCheck = Object.keys(fields)
        .sort()
        .map((name) => `${name}=${fields[name]}`)
        .join('\n');
      const secret = createHash('sha256').update(BOT_TOKEN).digest();
      return createHmac('sha256', secret).update(dataCheck).digest('hex');
    }

    function widgetFields(): Record<string, string> {
      const username = `ada_${randomBytes(3).toString('hex')}`;
      return {
        id: String(randomInt(100_000_000, 9_999_999_999)),
        first_name: 'Ада',
        last_name: 'Lovelace',
        username,
        photo_url: `https://t.me/i/userpic/320/${username}.jpg`,
        auth_date: String(Math.floor(Date.now() / 1000)),
      };
    }

    /** The start as a browser makes it, up to Telegram's page: the `return_to` it names. */
    async function start(browser: OAuthClient, clientState: string): Promise<URL> {
      const res = await browser.get(startUrl('telegram', clientState));
      expect(res.status).toBe(302);
      const telegram = new URL(res.headers.get('location')!);
      expect(`${telegram.origin}${telegram.pathname}`).toBe('https://oauth.telegram.org/auth');
      expect(telegram.searchParams.get('bot_id')).toBe(BOT_TOKEN.split(':')[0]);
      expect(telegram.searchParams.get('origin')).toBe(t.baseUrl);
      const returnTo = new URL(telegram.searchParams.get('return_to')!);
      expect(`${returnTo.origin}${returnTo.pathname}`).toBe(`${t.baseUrl}/oauth/telegram/callback`);
      expect(returnTo.searchParams.get('state')).toMatch(STATE);
      return returnTo;
    }

    it('serves the relay page without a hash, then signs in with the signed fields', async () => {
      const browser = new OAuthClient(FRONTEND);
      const returnTo = await start(browser, 'tg-state');

      // Telegram's page came back with the fields in the fragment, which the server never sees.
      const relay = await browser.get(returnTo.href);
      expect(relay.status).toBe(200);
      expect(relay.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await relay.text()).toContain('<script src="/oauth/telegram/relay.js"></script>');
      const script = await browser.get(`${t.baseUrl}/oauth/telegram/relay.js`);
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(await script.text()).toContain('tgAuthResult');

      // What the relay script loads next: the same callback with the fields in the query.
      const fields = widgetFields();
      const callback = new URL(returnTo);
      for (const [name, value] of Object.entries(fields)) callback.searchParams.set(name, value);
      callback.searchParams.set('hash', telegramHash(fields));
      const { landed } = await browser.follow(callback.href);
      expectLanded(landed!, { state: 'tg-state' });

      expect(await read(browser, '/auth/profile')).toMatchObject({
        name: 'Ада Lovelace',
        pic: fields.photo_url,
        email: placeholder('telegram', fields.id),
        email_verified: false,
        roles: ['user'],
      });
      expect(await read(browser, '/auth/accounts')).toEqual([
        expect.objectContaining({
          provider: 'telegram',
          provider_id: fields.id,
          provider_email: null,
        }),
      ]);
    });

    it('refuses fields changed after signing with error=invalid_request and creates no author', async () => {
      const browser = new OAuthClient(FRONTEND);
      const returnTo = await start(browser, 'tg-tampered');
      const fields = widgetFields();
      const callback = new URL(returnTo);
      callback.searchParams.set('hash', telegramHash(fields));
      for (const [name, value] of Object.entries({ ...fields, first_name: 'Mallory' })) {
        callback.searchParams.set(name, value);
      }
      const before = await authorCount();
      const { landed } = await browser.follow(callback.href);
      expectLanded(landed!, { error: 'invalid_request', state: 'tg-tampered' });
      expect(browser.cookie(t.baseUrl, t.config.cookie.name)).toBeUndefined();
      expect(await authorCount()).toBe(before);
      expect(await accounts.findByProviderId('telegram', fields.id)).toBeNull();
    });
  });
});
