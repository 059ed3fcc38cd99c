import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { newRegistration, registerAuthor } from '../support/auth';
import {
  describeInChromium,
  launchChromium,
  recordStream,
  saveScreenshot,
  startProxy,
  type Proxy,
} from '../support/browser';
import { type OidcProvider, startOidcProvider } from '../support/oidc-provider';
import { startTestApp, type TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

// Issue #13: the demo the service serves at /demo/ signs in with a provider, in real Chromium.
// oauth2-mock-server plays Google (endpoint overrides, as in test/oauth/oauth-flow.e2e-spec.ts).
// It has no login page: its /authorize redirects straight back to our callback with a code, so a
// click on the button travels demo → /oauth/google → provider → callback → demo with no stop.

const SCREENSHOT = resolve('test-output/browser-oauth-sign-in.png');
const FOLLOW = 'mutation Follow($authorId: Int!) { follow(authorId: $authorId) }';
/** Waits on the page: generous next to what is measured, short next to the suite's budget. */
const UI_TIMEOUT_MS = 5_000;
/** Where the demo keeps the state of the sign-in it started (web/src/demo.ts). */
const STATE_KEY = 'tessera-oauth-state';

/** The browser globals the functions run in the page use (tests compile without the DOM library). */
interface InPage {
  sessionStorage: { getItem(key: string): string | null };
}

describeInChromium('Browser: the demo signs in with a provider (issue #13)', () => {
  let provider: OidcProvider;
  let issuer: string;
  let browser: Browser;
  let proxy: Proxy;
  let t: TestApp;
  /** The app's base URL as the browser sees it: the proxy's origin. */
  let base: string;
  /** What the provider's userinfo endpoint answers next. */
  let userinfo: Record<string, unknown>;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    // Test apps listen on a port chosen at start, but FRONTEND_URL (which allows /demo/ as a
    // redirect_uri) must be known before: the browser reaches the app through a proxy whose origin
    // is known first, pointed at the app once it listens.
    [browser, proxy, provider] = await Promise.all([
      launchChromium(),
      startProxy(0),
      startOidcProvider(() => userinfo),
    ]);
    issuer = provider.issuer;
    base = proxy.origin;
    t = await startTestApp({
      FRONTEND_URL: base,
      ...provider.googleEnv,
    });
    proxy.retarget(Number(new URL(t.baseUrl).port));
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([t?.close(), proxy?.close(), provider?.stop()]);
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext();
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    contexts.push(context);
    return context.newPage();
  }

  /** A Google account no other test uses, with a verified email. */
  function googleAccount() {
    const { email, name } = newRegistration();
    return { sub: `google-${randomUUID()}`, email, email_verified: true, name };
  }

  /** Every URL the page navigated to (main frame), in order. */
  function recordNavigations(page: Page): URL[] {
    const visited: URL[] = [];
    page.on('request', (request) => {
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
        visited.push(new URL(request.url()));
      }
    });
    return visited;
  }

  it('one button per enabled provider; clicking it comes back to /demo/ signed in, with the stream open (screenshot)', async () => {
    userinfo = googleAccount();
    const follower = await registerAuthor(t);
    const page = await newPage();
    const log = await recordStream(page);
    const visited = recordNavigations(page);
    await page.goto(`${base}/demo/`);

    const buttons = page.locator('#provider-buttons button');
    await buttons.first().waitFor();
    expect(await buttons.allTextContents()).toEqual(['Sign in with Google']);

    await page.click('text=Sign in with Google');
    await page.waitForSelector('#app:not([hidden])');

    // Through the service and the provider and back, with this tab's state kept across the trip.
    const start = visited.find((url) => url.pathname === '/oauth/google')!;
    const state = start.searchParams.get('state');
    expect(state).toMatch(/^[0-9a-f]{32}$/);
    expect(start.searchParams.get('redirect_uri')).toBe(`${base}/demo/`);
    expect(visited.some((url) => url.href.startsWith(`${issuer}/authorize`))).toBe(true);
    const back = visited.at(-1)!;
    expect(back.pathname).toBe('/demo/');
    expect(back.searchParams.get('state')).toBe(state);
    // The address bar no longer shows the state, and the tab forgot it (it is single use).
    expect(page.url()).toBe(`${base}/demo/`);
    expect(
      await page.evaluate(
        (key) => (globalThis as unknown as InPage).sessionStorage.getItem(key),
        STATE_KEY,
      ),
    ).toBeNull();

    expect(await page.textContent('#who')).toContain(String(userinfo.email));
    expect(await page.isHidden('#sign-in')).toBe(true);
    await page.waitForSelector('#status[data-status=open]');
    await waitFor(() => log.parsed().some((message) => message.type === 'connected'), {
      message: 'connected on the stream',
    });

    const authorId = Number(/\(#(\d+)\)/.exec((await page.textContent('#who')) ?? '')?.[1]);
    expect(log.parsed()[0]).toEqual({ type: 'connected', user_id: authorId });
    const res = await t
      .http()
      .post('/graphql')
      .set('Authorization', `Bearer ${follower.token}`)
      .send({ query: FOLLOW, variables: { authorId } })
      .expect(200);
    expect(res.body).toEqual({ data: { follow: true } });
    const item = await page.waitForSelector('#notifications li[data-type=follower]');
    expect(await item.textContent()).toContain(
      `${follower.body.author.name} started following you`,
    );

    await saveScreenshot(page, SCREENSHOT);
  });

  it('a refused sign-in comes back as a readable error on the sign-in form, the query cleared', async () => {
    userinfo = googleAccount();
    // The user says no at the provider: it answers the callback with error=access_denied.
    provider.server.service.once('beforeAuthorizeRedirect', ({ url }: { url: URL }) => {
      url.searchParams.delete('code');
      url.searchParams.set('error', 'access_denied');
    });
    const page = await newPage();
    const visited = recordNavigations(page);
    await page.goto(`${base}/demo/`);

    await page.click('text=Sign in with Google');
    await waitFor(async () => (await page.textContent('#sign-in-error'))?.trim(), {
      message: 'a sign-in error on the page',
    });

    expect(visited.at(-1)?.searchParams.get('error')).toBe('access_denied');
    expect(await page.textContent('#sign-in-error')).toBe('Sign-in was cancelled at the provider');
    expect(page.url()).toBe(`${base}/demo/`);
    expect(await page.isHidden('#app')).toBe(true);
    expect(await page.isVisible('text=Sign in with Google')).toBe(true);
  });

  it('a way back with a state this tab did not start is refused, even with a live session', async () => {
    userinfo = googleAccount();
    const page = await newPage();
    await page.goto(`${base}/demo/`);
    await page.click('text=Sign in with Google');
    await page.waitForSelector('#status[data-status=open]');

    // Another tab of the same browser (same cookie, its own sessionStorage), sent to the way back.
    const other = await page.context().newPage();
    const asked: string[] = [];
    other.on('request', (request) => asked.push(new URL(request.url()).pathname));
    await other.goto(`${base}/demo/?state=not-from-this-tab`);
    await waitFor(async () => (await other.textContent('#sign-in-error'))?.trim(), {
      message: 'a sign-in error on the page',
    });
    // Asked for at the same moment as the profile would have been: once shown, that call would be seen.
    await other.waitForSelector('text=Sign in with Google');

    expect(await other.textContent('#sign-in-error')).toBe(
      'This sign-in was not started from this page, so it was not used; please sign in again',
    );
    expect(other.url()).toBe(`${base}/demo/`);
    expect(asked).toContain('/oauth/providers');
    expect(asked).not.toContain('/auth/profile');
    expect(await other.isHidden('#app')).toBe(true);
  });
});
