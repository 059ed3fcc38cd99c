import { randomUUID } from 'node:crypto';
import { registerAuthor } from '../support/auth';
import { OAuthClient } from '../support/oauth-client';
import { type OidcProvider, startOidcProvider } from '../support/oidc-provider';
import { startTestApp, type TestApp } from '../support/test-app';

const FRONTEND = 'http://frontend.test';

/**
 * The whole flow against a real OpenID Connect server on loopback (oauth2-mock-server), configured
 * as the Google provider through the endpoint overrides: redirects followed like a browser, ending
 * with a working session cookie on /auth/profile.
 */
describe('sign-in with a provider, against a real OAuth 2.0 / OpenID Connect server', () => {
  let provider: OidcProvider;
  let t: TestApp;
  let issuer: string;
  /** What the provider's userinfo endpoint answers next. */
  let userinfo: Record<string, unknown>;

  beforeAll(async () => {
    provider = await startOidcProvider(() => userinfo);
    issuer = provider.issuer;
    t = await startTestApp({ FRONTEND_URL: FRONTEND, ...provider.googleEnv });
  });
  afterAll(async () => {
    await t?.close();
    await provider?.stop();
  });

  const person = () => {
    const id = randomUUID();
    return {
      sub: `google-${id}`,
      email: `oauth-${id}@example.test`,
      email_verified: true,
      name: 'Ada Oauth',
      picture: 'https://example.test/ada.png',
    };
  };

  it('lists the enabled provider', async () => {
    const res = await t.http().get('/oauth/providers').expect(200);
    expect(res.body).toEqual({ providers: ['google'] });
  });

  it('signs a new author in and lands on redirect_uri with the client state and a working session cookie', async () => {
    userinfo = person();
    const browser = new OAuthClient(FRONTEND);
    const start = `${t.baseUrl}/oauth/google?state=client-123&redirect_uri=${encodeURIComponent(`${FRONTEND}/signed-in`)}`;
    const { landed } = await browser.follow(start);

    expect(landed?.origin).toBe(FRONTEND);
    expect(landed?.pathname).toBe('/signed-in');
    expect(Object.fromEntries(landed!.searchParams)).toEqual({ state: 'client-123' });

    // The provider was asked with PKCE (S256) and our own 256-bit state, never the client's.
    const authorize = browser.visited.find((url) => url.href.startsWith(`${issuer}/authorize`))!;
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${t.baseUrl}/oauth/google/callback`);
    expect(authorize.searchParams.get('scope')).toBe('openid email profile');

    const session = browser.cookie(t.baseUrl, t.config.cookie.name);
    expect(session).toBeDefined();
    const profile = await browser.get(`${t.baseUrl}/auth/profile`);
    expect(profile.status).toBe(200);
    const body = (await profile.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      email: userinfo.email,
      email_verified: true,
      name: 'Ada Oauth',
      pic: 'https://example.test/ada.png',
      roles: ['user'],
    });
    const metrics = await t.http().get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^tessera_oauth_sign_ins_total\{provider="google"\} [1-9]/m);

    const accounts = await browser.get(`${t.baseUrl}/auth/accounts`);
    expect(await accounts.json()).toEqual([
      expect.objectContaining({ provider: 'google', provider_id: userinfo.sub }),
    ]);
  });

  it('signs the same provider identity in again as the same author', async () => {
    userinfo = person();
    const first = new OAuthClient(FRONTEND);
    await first.follow(`${t.baseUrl}/oauth/google?redirect_uri=${encodeURIComponent(FRONTEND)}`);
    const firstId = (
      (await (await first.get(`${t.baseUrl}/auth/profile`)).json()) as { id: number }
    ).id;

    const second = new OAuthClient(FRONTEND);
    const { landed } = await second.follow(
      `${t.baseUrl}/oauth/google?redirect_uri=${encodeURIComponent(FRONTEND)}`,
    );
    expect(landed?.searchParams.get('error')).toBeNull();
    const again = (await (await second.get(`${t.baseUrl}/auth/profile`)).json()) as { id: number };
    expect(again.id).toBe(firstId);
  });

  it('refuses a redirect_uri on another origin with 400 and never reaches the provider', async () => {
    const browser = new OAuthClient(FRONTEND);
    const res = await browser.get(
      `${t.baseUrl}/oauth/google?redirect_uri=${encodeURIComponent('https://evil.test/steal')}`,
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/allowed origin/);
    expect(browser.visited.some((url) => url.href.startsWith(issuer))).toBe(false);
  });

  it('answers 404 for a provider that is not configured', async () => {
    const res = await t.http().get('/oauth/github').expect(404);
    expect(res.body.message).toMatch(/github/);
  });

  /** Starts a flow and returns the state the provider was given, without going to the provider. */
  async function startFlow(browser: OAuthClient, clientState: string): Promise<string> {
    const res = await browser.get(
      `${t.baseUrl}/oauth/google?state=${clientState}&redirect_uri=${encodeURIComponent(`${FRONTEND}/back`)}`,
    );
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location')!).searchParams.get('state')!;
  }

  it('sends a user who cancelled at the provider back with error=access_denied and their state', async () => {
    const browser = new OAuthClient(FRONTEND);
    const state = await startFlow(browser, 'cancel-1');
    const res = await browser.get(
      `${t.baseUrl}/oauth/google/callback?error=access_denied&state=${state}`,
    );
    expect(res.status).toBe(302);
    const landed = new URL(res.headers.get('location')!);
    expect(landed.origin + landed.pathname).toBe(`${FRONTEND}/back`);
    expect(Object.fromEntries(landed.searchParams)).toEqual({
      error: 'access_denied',
      state: 'cancel-1',
    });
    expect(browser.cookie(t.baseUrl, t.config.cookie.name)).toBeUndefined();
  });

  it('answers a callback without a code with error=invalid_request instead of starting over', async () => {
    const browser = new OAuthClient(FRONTEND);
    const state = await startFlow(browser, 'no-code');
    const res = await browser.get(`${t.baseUrl}/oauth/google/callback?state=${state}`);
    expect(res.status).toBe(302);
    const landed = new URL(res.headers.get('location')!);
    expect(landed.searchParams.get('error')).toBe('invalid_request');
    expect(landed.origin).toBe(FRONTEND);
  });

  it('answers 400 JSON to a callback whose state it never issued, since it cannot know where to send the browser', async () => {
    const res = await t
      .http()
      .get(`/oauth/google/callback?code=abc&state=${'A'.repeat(43)}`)
      .expect(400);
    expect(res.body.message).toMatch(/invalid_state/);
    expect(res.headers['set-cookie'] ?? []).not.toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^${t.config.cookie.name}=`))]),
    );
  });

  describe('linking to the signed-in account (link=true)', () => {
    const linkUrl = () =>
      `${t.baseUrl}/oauth/google?link=true&state=link-1&redirect_uri=${encodeURIComponent(`${FRONTEND}/settings`)}`;

    it('adds the provider to the caller, who stays who they were, and audits it', async () => {
      const author = await registerAuthor(t, 'cookie');
      userinfo = person();
      const browser = new OAuthClient(FRONTEND);
      const [name, value] = author.cookie!.split(';')[0].split('=');
      browser.setCookie(t.baseUrl, name, value);
      const { landed } = await browser.follow(linkUrl());
      expect(Object.fromEntries(landed!.searchParams)).toEqual({
        state: 'link-1',
        linked: 'google',
      });

      const accounts = await (await browser.get(`${t.baseUrl}/auth/accounts`)).json();
      expect(accounts).toEqual([
        expect.objectContaining({ provider: 'google', provider_id: userinfo.sub }),
      ]);
      const profile = (await (await browser.get(`${t.baseUrl}/auth/profile`)).json()) as {
        id: number;
      };
      expect(profile.id).toBe(author.authorId);

      // Signing in with that identity now reaches the same author.
      const fresh = new OAuthClient(FRONTEND);
      await fresh.follow(`${t.baseUrl}/oauth/google?redirect_uri=${encodeURIComponent(FRONTEND)}`);
      const signedIn = (await (await fresh.get(`${t.baseUrl}/auth/profile`)).json()) as {
        id: number;
      };
      expect(signedIn.id).toBe(author.authorId);
    });

    it('refuses to link an identity another author already has (account_in_use), linking nothing', async () => {
      userinfo = person();
      const owner = new OAuthClient(FRONTEND);
      await owner.follow(`${t.baseUrl}/oauth/google?redirect_uri=${encodeURIComponent(FRONTEND)}`);

      const other = await registerAuthor(t, 'cookie');
      const browser = new OAuthClient(FRONTEND);
      const [name, value] = other.cookie!.split(';')[0].split('=');
      browser.setCookie(t.baseUrl, name, value);
      const { landed } = await browser.follow(linkUrl());
      expect(Object.fromEntries(landed!.searchParams)).toEqual({
        error: 'account_in_use',
        state: 'link-1',
      });
      expect(await (await browser.get(`${t.baseUrl}/auth/accounts`)).json()).toEqual([]);
    });

    it('sends a caller without a session back with error=login_required, before the provider', async () => {
      const browser = new OAuthClient(FRONTEND);
      const { landed } = await browser.follow(linkUrl());
      expect(Object.fromEntries(landed!.searchParams)).toEqual({
        error: 'login_required',
        state: 'link-1',
      });
      expect(browser.visited.some((url) => url.href.startsWith(issuer))).toBe(false);
    });
  });
});
