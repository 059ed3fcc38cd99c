import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { type AuthContext, authOf } from './auth-context';
import { httpContextOf } from '../infra/http/http-context';

export const ACCESS_KEY = 'tessera:access';

/** The permissions (README, "Roles and permissions"). */
export const PERMISSIONS = ['read', 'write', 'moderate', 'admin'] as const;
export type PermissionName = (typeof PERMISSIONS)[number];

/** What a route or resolver requires. Every handler declares one; `AccessGuard` refuses the rest. */
export type Access =
  | { kind: 'public' }
  | { kind: 'authenticated' }
  | { kind: 'permission'; permissions: PermissionName[] }
  | { kind: 'self'; credentials: string };

/** Open to anyone, signed in or not. */
export const Public = () => SetMetadata(ACCESS_KEY, { kind: 'public' } satisfies Access);

/**
 * The handler authenticates the caller itself, with other credentials than the guard knows (the
 * SSE stream: a one-time ticket, else the request's session); the guard lets the request through.
 */
export const AuthenticatesItself = (credentials: string) =>
  SetMetadata(ACCESS_KEY, { kind: 'self', credentials } satisfies Access);

/** Needs a valid session (cookie or bearer): 401 / UNAUTHENTICATED otherwise. */
export const AuthRequired = () =>
  SetMetadata(ACCESS_KEY, { kind: 'authenticated' } satisfies Access);

/** Needs a session whose author holds every permission named: 401, then 403 / FORBIDDEN. */
export const PermissionRequired = (...permissions: [PermissionName, ...PermissionName[]]) =>
  SetMetadata(ACCESS_KEY, { kind: 'permission', permissions } satisfies Access);

/** Needs the `admin` permission. */
export const AdminRequired = () => PermissionRequired('admin');

/** The signed-in author (only on handlers that need a session). */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext) => authOf(httpContextOf(context).req)?.author,
);

/** The whole authentication context: author, session, and how the token arrived. */
export const CurrentAuth = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthContext | undefined =>
    authOf(httpContextOf(context).req),
);

/** How a handler's access reads in the access table (test/access): `public`, `authenticated`, `permission:moderate`. */
export function describeAccess(access: Access | undefined): string {
  if (!access) return 'NONE';
  if (access.kind === 'permission') return `permission:${access.permissions.join('+')}`;
  if (access.kind === 'self') return `self:${access.credentials}`;
  return access.kind;
}
