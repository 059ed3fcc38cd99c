/**
 * A browser stand-in for OAuth round trips: follows redirects across hosts by hand, keeps cookies
 * per host (name=value only: enough for httpOnly session and flow cookies on loopback), and stops
 * at the first URL on `stopAt` (the frontend, which the test never serves).
 */
export class OAuthClient {
  private readonly jar = new Map<string, Map<string, string>>();
  /** Every URL requested, in order. */
  readonly visited: URL[] = [];

  constructor(private readonly stopAt: string) {}

  cookie(url: string, name: string): string | undefined {
    return this.jar.get(new URL(url).host)?.get(name);
  }

  setCookie(url: string, name: string, value: string): void {
    const host = new URL(url).host;
    if (!this.jar.has(host)) this.jar.set(host, new Map());
    this.jar.get(host)!.set(name, value);
  }

  forget(url: string, name: string): void {
    this.jar.get(new URL(url).host)?.delete(name);
  }

  /** One request with this client's cookies; the response's cookies are kept. */
  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    const target = new URL(url);
    this.visited.push(target);
    const cookies = [...(this.jar.get(target.host) ?? new Map()).entries()]
      .map(([name, value]) => `${name}=${value}`)
      .join('; ');
    const res = await fetch(target, {
      redirect: 'manual',
      headers: { ...(cookies ? { cookie: cookies } : {}), ...headers },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired =
        attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      if (expired) this.forget(url, name);
      else this.setCookie(url, name, value);
    }
    return res;
  }

  /** Follows redirects from `url` until the frontend (returned, not requested) or a non-redirect answer. */
  async follow(url: string, maxHops = 10): Promise<{ landed?: URL; last: Response }> {
    let next = new URL(url);
    for (let hop = 0; hop < maxHops; hop++) {
      const res = await this.get(next.href);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { last: res };
      next = new URL(location, next);
      if (next.href.startsWith(this.stopAt)) return { landed: next, last: res };
    }
    throw new Error(`more than ${maxHops} redirects from ${url}`);
  }
}
