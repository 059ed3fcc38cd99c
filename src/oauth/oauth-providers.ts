import type {
  OAuth2ProviderDefinition,
  OAuth2ProviderName,
  ProviderProfile,
} from './oauth-provider';

/** Facebook Graph API version: the newest on the changelog (introduced 2026-11-04). */
export const FACEBOOK_GRAPH_VERSION = 'v27.0';

/** VK API version for `users.get` and the authorization dialog. */
export const VK_API_VERSION = '5.199';

/** GitHub rejects API requests without a User-Agent and asks for the app's name there. */
export const GITHUB_USER_AGENT = 'Tessera';

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : null;
}

/** A non-blank string as given, else null. */
function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

/** A provider user id as a string: ids come as strings (Google, X, Yandex) or numbers (GitHub, VK). */
function userId(value: unknown): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  return text(value);
}

function bearer(accessToken: string): Record<string, string> {
  return { Authorization: `Bearer ${accessToken}` };
}

function profile(providerId: string, fields: Partial<ProviderProfile>): ProviderProfile {
  return {
    providerId,
    email: fields.email ?? null,
    emailVerified: fields.email ? fields.emailVerified === true : false,
    name: fields.name ?? null,
    pic: fields.pic ?? null,
  };
}

/**
 * Google, as an OpenID Connect provider: endpoints from its discovery document
 * (https://accounts.google.com/.well-known/openid-configuration), which lists S256 among
 * `code_challenge_methods_supported`. The UserInfo claims are the standard ones, `email_verified`
 * a boolean (https://developers.google.com/identity/openid-connect/openid-connect).
 */
const google: OAuth2ProviderDefinition = {
  name: 'google',
  authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
  tokenUrl: 'https://oauth2.googleapis.com/token',
  userinfoUrl: 'https://openidconnect.googleapis.com/v1/userinfo',
  scope: ['openid', 'email', 'profile'],
  scopeSeparator: ' ',
  pkce: true,
  basicAuth: false,
  async fetchProfile(fetchJson, userinfoUrl, accessToken) {
    const info = asObject(await fetchJson(userinfoUrl, { headers: bearer(accessToken) }));
    const providerId = userId(info?.sub);
    if (!info || !providerId) return null;
    return profile(providerId, {
      email: text(info.email),
      emailVerified: info.email_verified === true,
      name: text(info.name),
      pic: text(info.picture),
    });
  },
};

/**
 * GitHub OAuth app (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps).
 * The token endpoint answers form-encoded unless asked for JSON. PKCE (S256 only) is supported
 * since 2025-07 (https://github.blog/changelog/2025-07-14-pkce-support-for-oauth-and-github-app-authentication).
 * `/user` has only the public email, which may be null; `/user/emails` (scope `user:email`) says
 * which address is primary and verified (https://docs.github.com/en/rest/users/emails).
 */
const github: OAuth2ProviderDefinition = {
  name: 'github',
  authorizationUrl: 'https://github.com/login/oauth/authorize',
  tokenUrl: 'https://github.com/login/oauth/access_token',
  userinfoUrl: 'https://api.github.com/user',
  scope: ['read:user', 'user:email'],
  scopeSeparator: ' ',
  pkce: true,
  basicAuth: false,
  tokenHeaders: { Accept: 'application/json' },
  async fetchProfile(fetchJson, userinfoUrl, accessToken) {
    const headers = {
      ...bearer(accessToken),
      Accept: 'application/vnd.github+json',
      'User-Agent': GITHUB_USER_AGENT,
    };
    const user = asObject(await fetchJson(userinfoUrl, { headers }));
    const providerId = userId(user?.id);
    if (!user || !providerId) return null;
    // Beside the user resource, so that an overridden GITHUB_USERINFO_URL (GitHub Enterprise, a
    // stub) serves both.
    const emailsUrl = `${userinfoUrl.replace(/\/+$/, '')}/emails`;
    const listed = await fetchJson(emailsUrl, { headers });
    const emails = (Array.isArray(listed) ? listed : []).map(asObject).filter((e) => e !== null);
    const primary = emails.find((e) => e.primary === true && text(e.email));
    const email = text(primary?.email) ?? text(user.email);
    return profile(providerId, {
      email,
      emailVerified: primary !== undefined && primary.verified === true,
      // `name` is optional on GitHub; the login is the name the user goes by there.
      name: text(user.name) ?? text(user.login),
      pic: text(user.avatar_url),
    });
  },
};

/**
 * Facebook Login, manually built flow
 * (https://developers.facebook.com/documentation/facebook-login/guides/advanced/manual-flow).
 * No PKCE: Facebook documents it only for its OIDC code flow (`openid` scope), which it still marks
 * as in testing. The User node's `email` is "the primary email address listed on their profile",
 * omitted when no valid address is available; the docs do not say it is confirmed, so it counts as
 * unverified (https://developers.facebook.com/docs/graph-api/reference/user/). The token goes in
 * the `access_token` parameter, as the Graph API documents.
 */
const facebook: OAuth2ProviderDefinition = {
  name: 'facebook',
  authorizationUrl: `https://www.facebook.com/${FACEBOOK_GRAPH_VERSION}/dialog/oauth`,
  tokenUrl: `https://graph.facebook.com/${FACEBOOK_GRAPH_VERSION}/oauth/access_token`,
  userinfoUrl: `https://graph.facebook.com/${FACEBOOK_GRAPH_VERSION}/me?fields=id,name,email,picture.type(large)`,
  scope: ['email', 'public_profile'],
  scopeSeparator: ',',
  pkce: false,
  basicAuth: false,
  async fetchProfile(fetchJson, userinfoUrl, accessToken) {
    // Appended as is, so that the documented `fields` expression reaches Graph unchanged.
    const separator = userinfoUrl.includes('?') ? '&' : '?';
    const url = `${userinfoUrl}${separator}access_token=${encodeURIComponent(accessToken)}`;
    const me = asObject(await fetchJson(url));
    const providerId = userId(me?.id);
    if (!me || !providerId) return null;
    const picture = asObject(asObject(me.picture)?.data);
    return profile(providerId, {
      email: text(me.email),
      emailVerified: false,
      name: text(me.name),
      // The default silhouette is not the user's picture.
      pic: picture && picture.is_silhouette !== true ? text(picture.url) : null,
    });
  },
};

/**
 * X, OAuth 2.0 Authorization Code with PKCE, which X requires; a confidential client authenticates
 * at the token endpoint with HTTP Basic
 * (https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token). `users.read` with
 * `tweet.read` is what `GET /2/users/me` needs; no email is asked for (X offers `confirmed_email`
 * only with the separately approved `users.email` scope).
 */
const x: OAuth2ProviderDefinition = {
  name: 'x',
  authorizationUrl: 'https://x.com/i/oauth2/authorize',
  tokenUrl: 'https://api.x.com/2/oauth2/token',
  userinfoUrl: 'https://api.x.com/2/users/me?user.fields=profile_image_url',
  scope: ['users.read', 'tweet.read'],
  scopeSeparator: ' ',
  pkce: true,
  basicAuth: true,
  async fetchProfile(fetchJson, userinfoUrl, accessToken) {
    const data = asObject(
      asObject(await fetchJson(userinfoUrl, { headers: bearer(accessToken) }))?.data,
    );
    const providerId = userId(data?.id);
    if (!data || !providerId) return null;
    return profile(providerId, {
      name: text(data.name) ?? text(data.username),
      pic: text(data.profile_image_url),
    });
  },
};

/**
 * VK through the OAuth of VKontakte (https://dev.vk.com/api/access-token/authcode-flow-user), not
 * VK ID: VK ID requires the `device_id` from the callback in the code exchange, which a standard
 * passport-oauth2 exchange (grant_type, code, redirect_uri, client credentials, code_verifier)
 * cannot send. That flow has no PKCE. The token response carries `user_id` and, with the `email`
 * scope, `email`; VK does not document the address as confirmed, so it counts as unverified. The
 * token is POSTed to the API method rather than put in the URL.
 */
const vk: OAuth2ProviderDefinition = {
  name: 'vk',
  authorizationUrl: 'https://oauth.vk.com/authorize',
  tokenUrl: 'https://oauth.vk.com/access_token',
  userinfoUrl: `https://api.vk.com/method/users.get?fields=photo_200&v=${VK_API_VERSION}`,
  scope: ['email'],
  scopeSeparator: ',',
  pkce: false,
  basicAuth: false,
  authorizationParams: { v: VK_API_VERSION },
  async fetchProfile(fetchJson, userinfoUrl, accessToken, tokens) {
    const url = new URL(userinfoUrl);
    const body = new URLSearchParams(url.searchParams);
    body.set('access_token', accessToken);
    const answer = asObject(
      await fetchJson(`${url.origin}${url.pathname}`, { method: 'POST', body }),
    );
    // An API error comes back as 200 with `error` instead of `response`: no user, so no profile.
    const users = Array.isArray(answer?.response) ? answer.response : [];
    const user = asObject(users[0]);
    const providerId = userId(user?.id);
    if (!user || !providerId) return null;
    const name = [text(user.first_name), text(user.last_name)].filter((part) => part).join(' ');
    return profile(providerId, {
      email: text(tokens.email),
      emailVerified: false,
      name: name || null,
      pic: text(user.photo_200),
    });
  },
};

/**
 * Yandex ID (https://yandex.ru/dev/id/doc/en/codes/code-url): PKCE is supported at
 * `oauth.yandex.ru`. User information comes from `login.yandex.ru/info` with the token in an
 * `Authorization: OAuth` header (https://yandex.ru/dev/id/doc/en/user-information). `default_email`
 * is "the default email address for contacting the user", not documented as confirmed, so it
 * counts as unverified.
 */
const yandex: OAuth2ProviderDefinition = {
  name: 'yandex',
  authorizationUrl: 'https://oauth.yandex.ru/authorize',
  tokenUrl: 'https://oauth.yandex.ru/token',
  userinfoUrl: 'https://login.yandex.ru/info?format=json',
  scope: ['login:info', 'login:email', 'login:avatar'],
  scopeSeparator: ' ',
  pkce: true,
  basicAuth: false,
  async fetchProfile(fetchJson, userinfoUrl, accessToken) {
    const info = asObject(
      await fetchJson(userinfoUrl, { headers: { Authorization: `OAuth ${accessToken}` } }),
    );
    const providerId = userId(info?.id);
    if (!info || !providerId) return null;
    const avatarId = info.is_avatar_empty === true ? null : text(info.default_avatar_id);
    return profile(providerId, {
      email: text(info.default_email),
      emailVerified: false,
      name: text(info.real_name) ?? text(info.display_name),
      // The id is a path such as `31804/BYkogAC6AoB17bN1HKRFAyKiM4-1`.
      pic: avatarId
        ? `https://avatars.yandex.net/get-yapic/${avatarId.split('/').map(encodeURIComponent).join('/')}/islands-200`
        : null,
    });
  },
};

/** The OAuth 2.0 providers as their current documentation describes them. */
export const OAUTH2_PROVIDER_DEFINITIONS: Readonly<
  Record<OAuth2ProviderName, OAuth2ProviderDefinition>
> = Object.freeze({ google, github, facebook, x, vk, yandex });
