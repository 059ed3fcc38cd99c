import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import passport from 'passport';
import type { ProviderUser } from './oauth2.strategy';
import type { OAuthStateStore } from './oauth-state.store';

/** Fields the Telegram Login Widget signs; anything else sent (but `hash` and our `state`) is refused. */
const SIGNED_FIELDS = new Set([
  'id',
  'first_name',
  'last_name',
  'username',
  'photo_url',
  'auth_date',
]);
const HASH = /^[0-9a-f]{64}$/;
const CLOCK_SKEW_S = 60;

/** Served by OAuthController at this path; the page below loads it (no inline script under CSP). */
export const TELEGRAM_RELAY_SCRIPT_PATH = '/oauth/telegram/relay.js';
const TELEGRAM_RELAY_PAGE = `<!doctype html><meta charset="utf-8"><title>Signing in…</title><script src="${TELEGRAM_RELAY_SCRIPT_PATH}"></script>`;

/** Moves `#tgAuthResult=<base64 JSON>` into the query; no result means the user went back. */
export const TELEGRAM_RELAY_SCRIPT = `(function () {
  var query = new URLSearchParams(location.search);
  var match = /[#&]tgAuthResult=([^&]+)/.exec(location.hash);
  if (match) {
    try {
      var binary = atob(decodeURIComponent(match[1]).replace(/-/g, '+').replace(/_/g, '/'));
      var json = new TextDecoder().decode(Uint8Array.from(binary, function (c) { return c.charCodeAt(0); }));
      var fields = JSON.parse(json);
      Object.keys(fields).forEach(function (name) { query.set(name, String(fields[name])); });
    } catch (e) {
      query.set('error', 'invalid_request');
    }
  } else {
    query.set('error', 'access_denied');
  }
  location.replace(location.pathname + '?' + query.toString());
})();
`;

/** Why a Telegram callback was refused. */
export type TelegramRefusal = 'invalid_signature' | 'stale_auth_date' | 'invalid_fields';

/** The widget's fields, checked: signature, freshness and shape. Exported for its unit spec. */
export function verifyTelegramLogin(
  query: Record<string, unknown>,
  botToken: string,
  maxAgeS: number,
  nowS: number,
): { ok: true; fields: Record<string, string> } | { ok: false; refusal: TelegramRefusal } {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (name === 'hash' || name === 'state') continue;
    if (!SIGNED_FIELDS.has(name) || typeof value !== 'string') {
      return { ok: false, refusal: 'invalid_fields' };
    }
    fields[name] = value;
  }
  const hash = query.hash;
  if (typeof hash !== 'string' || !HASH.test(hash) || !/^\d+$/.test(fields.id ?? '')) {
    return { ok: false, refusal: 'invalid_fields' };
  }
  // https://core.telegram.org/widgets/login#checking-authorization
  const dataCheck = Object.keys(fields)
    .sort()
    .map((name) => `${name}=${fields[name]}`)
    .join('\n');
  const secret = createHash('sha256').update(botToken).digest();
  const expected = createHmac('sha256', secret).update(dataCheck).digest();
  if (!timingSafeEqual(expected, Buffer.from(hash, 'hex'))) {
    return { ok: false, refusal: 'invalid_signature' };
  }
  const authDate = Number(fields.auth_date);
  if (
    !Number.isSafeInteger(authDate) ||
    nowS - authDate > maxAgeS ||
    authDate - nowS > CLOCK_SKEW_S
  ) {
    return { ok: false, refusal: 'stale_auth_date' };
  }
  return { ok: true, fields };
}

/**
 * Telegram is not OAuth 2: its Login Widget redirects to the callback with signed fields. This base
 * strategy checks the flow's state like the OAuth 2 ones (same store, same browser cookie), then
 * the fields' HMAC-SHA256 under SHA-256(bot token), in constant time, and `auth_date`'s age.
 */
type Verified = (error: Error | null, user?: ProviderUser) => void;

class TelegramLoginStrategy extends passport.Strategy {
  override name = 'telegram';

  constructor(
    private readonly settings: { botToken: string; maxAgeS: number; authorizationUrl: string },
    private readonly stateStore: OAuthStateStore,
    private readonly verify: (fields: Record<string, string>, done: Verified) => void,
  ) {
    super();
  }

  override authenticate(
    req: Request,
    options: { state?: object; callbackURL?: string } = {},
  ): void {
    if (options.state) return this.start(req, options);
    // Telegram's page returns to the callback with the fields in the fragment, which only the
    // browser sees: the relay page moves them into the query and loads the callback again.
    if (req.query.hash === undefined) {
      req.res?.type('html').send(TELEGRAM_RELAY_PAGE);
      return;
    }
    this.stateStore.verify(req, req.query.state, (error, ok, flow) => {
      if (error) return this.error(error);
      if (!ok) return this.fail(flow, 403);
      const checked = verifyTelegramLogin(
        req.query as Record<string, unknown>,
        this.settings.botToken,
        this.settings.maxAgeS,
        Math.floor(Date.now() / 1000),
      );
      if (!checked.ok) return this.fail({ message: checked.refusal }, 403);
      this.verify(checked.fields, (failure, user) =>
        failure || !user ? this.error(failure ?? new Error('no user')) : this.success(user),
      );
    });
  }

  /**
   * Telegram's sign-in page, told to come back to the callback with this flow's state. It returns
   * the signed fields in the URL fragment (`#tgAuthResult=`), which the callback page moves into
   * the query (see OAuthController.telegramRelay).
   */
  private start(req: Request, options: { state?: object; callbackURL?: string }): void {
    this.stateStore.store(req, undefined, options.state as never, undefined, (error, state) => {
      if (error || !state) return this.error(error ?? new Error('no state'));
      const callback = new URL(
        options.callbackURL ?? `${req.protocol}://${req.get('host')}/oauth/telegram/callback`,
      );
      callback.searchParams.set('state', state);
      const target = new URL(this.settings.authorizationUrl);
      target.searchParams.set('bot_id', this.settings.botToken.split(':')[0]);
      target.searchParams.set('origin', callback.origin);
      target.searchParams.set('request_access', 'write');
      target.searchParams.set('return_to', callback.href);
      this.redirect(target.href);
    });
  }
}

export class TelegramStrategy extends PassportStrategy(TelegramLoginStrategy, 'telegram') {
  readonly provider = 'telegram' as const;

  /** The widget's checked fields as a profile: Telegram gives no email. */
  validate(fields: Record<string, string>): ProviderUser {
    const { id, first_name, last_name, username, photo_url } = fields;
    return {
      provider: 'telegram',
      profile: {
        providerId: id,
        email: null,
        emailVerified: false,
        name: [first_name, last_name].filter(Boolean).join(' ') || username || null,
        pic: photo_url ?? null,
      },
    };
  }
}
