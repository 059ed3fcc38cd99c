import type { RolesAndPermissions } from '../infra/database/tables/author-role.repository';
import type { VerifiedSession } from '../tokens/session-token.service';
import type { Author } from '../infra/database/tables/author.entity';

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

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      auth?: AuthContext;
    }
  }
}
