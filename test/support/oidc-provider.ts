import { OAuth2Server } from 'oauth2-mock-server';

/**
 * A real OpenID Connect server on loopback (oauth2-mock-server), and the environment that makes the
 * app use it as the Google provider.
 */
export interface OidcProvider {
  server: OAuth2Server;
  issuer: string;
  /** GOOGLE_* variables pointing the app's Google provider at this server. */
  googleEnv: Record<string, string>;
  stop(): Promise<void>;
}

/** `userinfo` is asked for the body of each userinfo answer. */
export async function startOidcProvider(
  userinfo: () => Record<string, unknown>,
): Promise<OidcProvider> {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  const issuer = server.issuer.url!;
  server.service.on('beforeUserinfo', (response: { body: unknown }) => {
    response.body = userinfo();
  });
  return {
    server,
    issuer,
    googleEnv: {
      GOOGLE_CLIENT_ID: 'tessera-test',
      GOOGLE_CLIENT_SECRET: 'tessera-test-secret',
      GOOGLE_AUTHORIZATION_URL: `${issuer}/authorize`,
      GOOGLE_TOKEN_URL: `${issuer}/token`,
      GOOGLE_USERINFO_URL: `${issuer}/userinfo`,
    },
    stop: () => server.stop(),
  };
}
