import type { VerifiedSession } from '../tokens/session-token.service';
import type { Author } from './author.entity';

/** Who made a request: set once per request by `AuthenticationMiddleware`, read by guards and handlers. */
export interface AuthContext {
  author: Author;
  session: VerifiedSession;
  /** Where the token came from; a caller authenticated by cookie is never shown a token. */
  via: 'cookie' | 'bearer';
  token: string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      auth?: AuthContext;
    }
  }
}
