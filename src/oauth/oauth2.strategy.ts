import { PassportStrategy } from '@nestjs/passport';
import type { OAuth2 } from 'oauth';
import { Strategy as OAuth2Strategy, TokenError } from 'passport-oauth2';
import type { OAuthProviderConfig } from '../config/app-config';
import type { OAuthTokens } from '../tokens/oauth-token.service';
import type {
  FetchJson,
  OAuth2ProviderDefinition,
  ProviderName,
  ProviderProfile,
  TokenResponse,
} from './oauth-provider';
import type { OAuthStateStore } from './oauth-state.store';

/** What a strategy hands to the sign-in: who the provider says the user is, and its tokens. */
export interface ProviderUser {
  provider: ProviderName;
  profile: ProviderProfile;
  /** Absent for Telegram, which issues none. */
  tokens?: OAuthTokens;
}

/** A provider answered with a profile that has no user id. */
export class ProfileWithoutIdError extends Error {}

/**
 * The strategy class of one OAuth 2.0 provider, on @nestjs/passport and passport-oauth2: state and
 * PKCE through the shared Redis state store, endpoints from the provider's definition unless
 * `<PROVIDER>_*_URL` overrides them, and the profile read and mapped by the definition.
 */
export function oauth2Strategy(definition: OAuth2ProviderDefinition) {
  // Five: passport-oauth2 passes the token response (`params`) only to a verify callback of that arity.
  return class extends PassportStrategy(OAuth2Strategy, definition.name, 5) {
    readonly provider = definition.name;
    private readonly userinfoUrl: string;

    constructor(
      settings: OAuthProviderConfig,
      stateStore: OAuthStateStore,
      private readonly fetchJson: FetchJson,
    ) {
      const basic = Buffer.from(
        `${encodeURIComponent(settings.clientId)}:${encodeURIComponent(settings.clientSecret)}`,
      ).toString('base64');
      super({
        authorizationURL: settings.authorizationUrl ?? definition.authorizationUrl,
        tokenURL: settings.tokenUrl ?? definition.tokenUrl,
        clientID: settings.clientId,
        clientSecret: settings.clientSecret,
        scope: [...definition.scope],
        scopeSeparator: definition.scopeSeparator,
        pkce: definition.pkce,
        state: true,
        store: stateStore as never,
        customHeaders: {
          ...definition.tokenHeaders,
          ...(definition.basicAuth ? { Authorization: `Basic ${basic}` } : {}),
        },
      });
      this.userinfoUrl = settings.userinfoUrl ?? definition.userinfoUrl;
      refuseTokenlessAnswers(this._oauth2);
    }

    override authorizationParams(): object {
      return { ...definition.authorizationParams };
    }

    async validate(
      accessToken: string,
      refreshToken: string | undefined,
      params: TokenResponse,
    ): Promise<ProviderUser> {
      const profile = await definition.fetchProfile(
        this.fetchJson,
        this.userinfoUrl,
        accessToken,
        params,
      );
      if (!profile || !profile.providerId) throw new ProfileWithoutIdError();
      const expiresIn = Number(params.expires_in);
      return {
        provider: definition.name,
        profile,
        tokens: {
          accessToken,
          refreshToken: refreshToken || undefined,
          expiresIn: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined,
        },
      };
    }
  };
}

/**
 * GitHub answers a refused code with 200 and `{"error": …}`; passport-oauth2 then fails with a bare
 * Error. Such an answer becomes the TokenError it is, so the client is told `provider_error`.
 */
function refuseTokenlessAnswers(oauth2: OAuth2): void {
  const exchange = oauth2.getOAuthAccessToken.bind(oauth2) as (
    code: string,
    params: object,
    callback: Callback,
  ) => void;
  const patched: typeof exchange = (code: string, params: object, callback: Callback) =>
    exchange(code, params, (error, accessToken, refreshToken, results) => {
      if (!error && !accessToken) {
        const answer = (results ?? {}) as { error?: unknown; error_description?: unknown };
        const description =
          typeof answer.error_description === 'string' ? answer.error_description : undefined;
        const code = typeof answer.error === 'string' ? answer.error : 'invalid_grant';
        return callback(new TokenError(description, code), accessToken, refreshToken, results);
      }
      callback(error, accessToken, refreshToken, results);
    });
  oauth2.getOAuthAccessToken = patched as unknown as OAuth2['getOAuthAccessToken'];
}

type Callback = (
  error: unknown,
  accessToken: string | undefined,
  refreshToken: string | undefined,
  results: unknown,
) => void;

export type ProviderStrategy = InstanceType<ReturnType<typeof oauth2Strategy>>;
