/**
 * Why a sign-in with a provider failed, as the `error` parameter of the redirect back to the client
 * (README, "Signing in with a provider").
 */
export type OAuthErrorCode =
  | 'access_denied'
  | 'invalid_state'
  | 'invalid_request'
  | 'provider_error'
  | 'provider_timeout'
  | 'invalid_profile'
  | 'account_banned'
  | 'account_in_use'
  | 'provider_already_linked'
  | 'login_required'
  | 'server_error';

export class OAuthFailure extends Error {
  constructor(
    readonly code: OAuthErrorCode,
    /** For the audit log and server logs; never sent to the client. */
    readonly detail?: string,
  ) {
    super(detail ? `${code}: ${detail}` : code);
  }
}
