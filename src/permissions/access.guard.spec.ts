import { ForbiddenException, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AdminRequired, AuthRequired, PermissionRequired, Public } from './access.decorator';
import { AccessGuard } from './access.guard';
import type { PermissionsService } from './permissions.service';

class Routes {
  @Public()
  open(): void {}

  @AuthRequired()
  closed(): void {}

  @PermissionRequired('moderate')
  moderate(): void {}

  @AdminRequired()
  admin(): void {}

  forgotten(): void {}
}

const USER = { roles: ['user'], permissions: ['read', 'write'] };
const MODERATOR = { roles: ['moderator'], permissions: ['moderate', 'read', 'write'] };

function contextFor(handler: keyof Routes, auth?: object): ExecutionContext {
  const req = { auth };
  return {
    getType: () => 'http',
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
}

describe('AccessGuard', () => {
  const lookups: number[] = [];
  const held = new Map<number, typeof USER>([
    [1, USER],
    [2, MODERATOR],
  ]);
  const permissions = {
    accessOf: async (authorId: number) => {
      lookups.push(authorId);
      return held.get(authorId)!;
    },
  } as unknown as PermissionsService;
  const guard = new AccessGuard(new Reflector(), permissions);
  const signedIn = (id: number) => ({ author: { id } });

  it('lets anyone through a public handler', async () => {
    expect(await guard.canActivate(contextFor('open'))).toBe(true);
  });

  it('asks for a session on an authenticated handler', async () => {
    await expect(guard.canActivate(contextFor('closed'))).rejects.toThrow(UnauthorizedException);
    expect(await guard.canActivate(contextFor('closed', signedIn(1)))).toBe(true);
  });

  it('checks permissions after the session: 401 without one, 403 without the permission', async () => {
    await expect(guard.canActivate(contextFor('moderate'))).rejects.toThrow(UnauthorizedException);
    await expect(guard.canActivate(contextFor('moderate', signedIn(1)))).rejects.toThrow(
      'Missing permission: moderate',
    );
    expect(await guard.canActivate(contextFor('moderate', signedIn(2)))).toBe(true);
    await expect(guard.canActivate(contextFor('admin', signedIn(2)))).rejects.toThrow(
      ForbiddenException,
    );
  });

  it('looks permissions up once per request', async () => {
    const auth = signedIn(2);
    lookups.length = 0;
    await guard.canActivate(contextFor('moderate', auth));
    await guard.canActivate(contextFor('moderate', auth));
    expect(lookups).toEqual([2]);
  });

  it('refuses a handler that declares no access, even to a signed-in caller', async () => {
    await expect(guard.canActivate(contextFor('forgotten', signedIn(2)))).rejects.toThrow(
      ForbiddenException,
    );
  });
});
