import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { CookieOptions, Request, Response } from 'express';
import { AppConfig } from '../config/app-config';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';
import type { ProviderName } from './oauth-provider';

/** What the start of a flow remembers for its callback (README, "Signing in with a provider"). */
export interface OAuthFlow {
  provider: ProviderName;
  /** The client's own `state`, handed back on the redirect. */
  clientState: string | null;
  redirectUri: string;
  /** Set when a signed-in author links the provider to their account. */
  linkAuthorId: number | null;
  /** PKCE code verifier, when the provider uses PKCE. */
  verifier: string | null;
  /** SHA-256 of the nonce in this browser's flow cookie. */
  binding: string;
}

/** The flow a callback belongs to, once its state has been consumed (for error redirects). */
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      oauthFlow?: OAuthFlow;
    }
  }
}

const STATE_TTL_MS = 10 * 60 * 1000;
const STATE = /^[A-Za-z0-9_-]{43}$/;
const FLOW_COOKIE = 'oauth_flow';
const stateKey = (state: string) => `oauth_state:${state}`;
const sha256 = (value: string) => createHash('sha256').update(value).digest();

/** Why a callback's state was refused; all are answered as `invalid_state`. */
export type StateRefusal = 'missing' | 'unknown_or_used' | 'other_provider' | 'other_browser';

type Stored = (error: Error | null, state?: string) => void;
type Loaded = (
  error: Error | null,
  ok: string | boolean,
  state?: OAuthFlow | { message: string; refusal: StateRefusal },
) => void;

/**
 * passport-oauth2's state store, on the shared Redis store: a 256-bit random state per flow, kept
 * 10 minutes with the PKCE verifier and the flow's details, consumed atomically once, and bound to
 * the browser that started it by a short-lived httpOnly cookie (SameSite=Lax, so the provider's
 * top-level redirect back carries it).
 */
@Injectable()
export class OAuthStateStore {
  private readonly cookie: CookieOptions;

  constructor(
    @Inject(REDIS_STORE) private readonly redis: RedisStore,
    config: AppConfig,
  ) {
    this.cookie = {
      httpOnly: true,
      secure: config.cookie.secure,
      sameSite: 'lax',
      path: '/oauth',
      maxAge: STATE_TTL_MS,
    };
  }

  /**
   * Called by passport-oauth2 at the start (five arguments: with PKCE). `meta` is passport's; the
   * flow comes in as the `state` option, without the verifier and binding that are added here.
   */
  store(
    req: Request,
    verifier: string | undefined,
    flow: Omit<OAuthFlow, 'verifier' | 'binding'>,
    _meta: unknown,
    callback: Stored,
  ): void {
    const state = randomBytes(32).toString('base64url');
    const nonce = randomBytes(32).toString('base64url');
    const record: OAuthFlow = {
      ...flow,
      verifier: verifier ?? null,
      binding: sha256(nonce).toString('base64url'),
    };
    this.redis
      .set(stateKey(state), JSON.stringify(record), { ttlMs: STATE_TTL_MS })
      .then(() => {
        req.res?.cookie(FLOW_COOKIE, nonce, this.cookie);
        callback(null, state);
      })
      .catch((error: Error) => callback(error));
  }

  /** Called by passport-oauth2 on the callback: `ok` is the PKCE verifier, or true without PKCE. */
  verify(req: Request, state: unknown, callback: Loaded): void {
    this.consume(req, state)
      .then((result) => {
        if ('refusal' in result) {
          callback(null, false, { message: 'invalid_state', refusal: result.refusal });
        } else {
          callback(null, result.verifier ?? true, result);
        }
      })
      .catch((error: Error) => callback(error, false));
  }

  /** Forgets this browser's flow cookie (after a callback, whatever its outcome). */
  clearCookie(res: Response): void {
    res.clearCookie(FLOW_COOKIE, { ...this.cookie, maxAge: undefined });
  }

  private async consume(
    req: Request,
    state: unknown,
  ): Promise<OAuthFlow | { refusal: StateRefusal }> {
    if (typeof state !== 'string' || !STATE.test(state)) return { refusal: 'missing' };
    const raw = await this.redis.getdel(stateKey(state));
    if (raw === null) return { refusal: 'unknown_or_used' };
    const flow = JSON.parse(raw) as OAuthFlow;
    // From here the redirect is known: failures go back to the client rather than to a JSON page.
    req.oauthFlow = flow;
    const provider = String(req.params.provider ?? '').toLowerCase();
    if (flow.provider !== provider) return { refusal: 'other_provider' };
    const nonce: unknown = req.cookies?.[FLOW_COOKIE];
    if (typeof nonce !== 'string' || !bindingMatches(nonce, flow.binding)) {
      return { refusal: 'other_browser' };
    }
    return flow;
  }
}

function bindingMatches(nonce: string, binding: string): boolean {
  const expected = Buffer.from(binding, 'base64url');
  const actual = sha256(nonce);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
