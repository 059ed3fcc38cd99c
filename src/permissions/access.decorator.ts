import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { AuthContext } from '../auth/auth-context';
import { httpContextOf } from '../infra/http/http-context';

export const ACCESS_KEY = 'tessera:access';

/** What a route or resolver requires. Every handler declares one; `AccessGuard` refuses the rest. */
export type Access = { kind: 'public' } | { kind: 'authenticated' };

/** Open to anyone, signed in or not. */
export const Public = () => SetMetadata(ACCESS_KEY, { kind: 'public' } satisfies Access);

/** Needs a valid session (cookie or bearer): 401 / UNAUTHENTICATED otherwise. */
export const AuthRequired = () =>
  SetMetadata(ACCESS_KEY, { kind: 'authenticated' } satisfies Access);

/** The signed-in author (only on handlers behind `@AuthRequired()`). */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext) => httpContextOf(context).req.auth?.author,
);

/** The whole authentication context: author, session, and how the token arrived. */
export const CurrentAuth = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthContext | undefined =>
    httpContextOf(context).req.auth,
);
