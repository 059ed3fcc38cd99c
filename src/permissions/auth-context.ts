import type { RolesAndPermissions } from '../infra/database/tables/author-role.repository';
import type { VerifiedSession } from '../tokens/session-token.service';
import type { Author } from '../infra/database/tables/author.entity';
import type { DependencyUnavailableError } from '../infra/availability/dependency-unavailable.error';

/** Who made a request: set once per request by `AuthenticationMiddleware`, read by guards and handlers. */
export interface AuthContext {
  author: Author;
  session: VerifiedSession;
  /** Where the token came from; a caller authenticated by cookie is never shown a token. */
  via: 'cookie' | 'bearer';
  token: string;
  /** The author's roles and permissions, looked up once per request when a guard first needs them. */
  access?: Promise<RolesAndPermissions>;
}

/**
 * The request's authentication, or undefined for an anonymous one. When the request carried a
 * token that could not be checked because Redis or Postgres is down, it throws that failure (503):
 * such a caller is neither signed in nor anonymous.
 */
export function authOf(req: Express.Request): AuthContext | undefined {
  if (req.authUnavailable) throw req.authUnavailable;
  return req.auth;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      auth?: AuthContext;
      /** Set instead of `auth` when the request's token could not be checked (Redis or Postgres down). */
      authUnavailable?: DependencyUnavailableError;
    }
  }
}
