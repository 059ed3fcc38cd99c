/**
 * Query parameters whose values are credentials: SSE tickets, OAuth codes and states, verification
 * and reset tokens, and whatever a client puts a password, secret or key in. The name may carry a
 * prefix (`access_token`, `client_secret`, `new_password`, `x-api-key`).
 */
const CREDENTIAL_PARAM =
  /([?&](?:[\w.-]*(?:token|ticket|secret|passw(?:or)?d|pwd|key|signature|credential)|code|state)=)[^&#\s]*/gi;

/**
 * A run of 32 or more token characters (base64url, hex): what a generated token looks like when it
 * stands in text without a parameter name. Words and numbers are far shorter.
 */
const BARE_TOKEN = /(?<![\w-])[\w-]{32,}(?![\w-])/g;

export const REDACTED = '[REDACTED]';

/** A request URL for the log: the values of credential parameters replaced. */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(CREDENTIAL_PARAM, `$1${REDACTED}`);
}

/**
 * Free text for the log (a mail's body): credential parameters in the links it holds, and anything
 * else shaped like a token, replaced.
 */
export function redactSecrets(text: string): string {
  return text.replace(CREDENTIAL_PARAM, `$1${REDACTED}`).replace(BARE_TOKEN, REDACTED);
}
