/** The OAuth 2.0 providers, by the names routes use (`/oauth/github`); Telegram is not OAuth 2. */
export const OAUTH2_PROVIDERS = ['google', 'github', 'facebook', 'x', 'vk', 'yandex'] as const;
export type OAuth2ProviderName = (typeof OAUTH2_PROVIDERS)[number];
export type ProviderName = OAuth2ProviderName | 'telegram';

/** What every provider's profile is reduced to. */
export interface ProviderProfile {
  /** The provider's stable user id, as a string. */
  providerId: string;
  email: string | null;
  /** True only when the provider says the address is confirmed. */
  emailVerified: boolean;
  name: string | null;
  pic: string | null;
}

/** The token endpoint's answer (access_token, expires_in, and whatever else the provider adds). */
export type TokenResponse = Record<string, unknown>;

export interface FetchJsonInit {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: URLSearchParams;
}

/**
 * Reads a provider API answer as JSON, with a deadline; throws on a network error, a timeout, a
 * status other than 2xx, or a body that is not JSON.
 */
export type FetchJson = (url: string, init?: FetchJsonInit) => Promise<unknown>;

/** One OAuth 2.0 provider as its documentation describes it. */
export interface OAuth2ProviderDefinition {
  name: OAuth2ProviderName;
  /** Documented endpoints; `<PROVIDER>_AUTHORIZATION_URL`, `_TOKEN_URL`, `_USERINFO_URL` override them. */
  authorizationUrl: string;
  tokenUrl: string;
  userinfoUrl: string;
  scope: readonly string[];
  scopeSeparator: string;
  /** PKCE with S256, where the provider supports it. */
  pkce: boolean;
  /** Client credentials in an HTTP Basic header at the token endpoint, as well as in the body. */
  basicAuth: boolean;
  /** Extra headers the token endpoint needs (GitHub: a JSON Accept header). */
  tokenHeaders?: Readonly<Record<string, string>>;
  /** Extra authorization-request parameters. */
  authorizationParams?: Readonly<Record<string, string>>;
  /**
   * Reads and maps the profile with the access token. `tokens` is the token response (VK sends the
   * email there). Null when the provider's answer has no user id.
   */
  fetchProfile(
    fetchJson: FetchJson,
    userinfoUrl: string,
    accessToken: string,
    tokens: TokenResponse,
  ): Promise<ProviderProfile | null>;
}
