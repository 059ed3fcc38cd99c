import { ForbiddenException, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthRequired, Public } from './access.decorator';
import { AccessGuard } from './access.guard';

class Routes {
  @Public()
  open(): void {}

  @AuthRequired()
  closed(): void {}

  forgotten(): void {}
}

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
  const guard = new AccessGuard(new Reflector());

  it('lets anyone through a public handler', () => {
    expect(guard.canActivate(contextFor('open'))).toBe(true);
  });

  it('asks for a session on an authenticated handler', () => {
    expect(() => guard.canActivate(contextFor('closed'))).toThrow(UnauthorizedException);
    expect(guard.canActivate(contextFor('closed', { author: { id: 1 } }))).toBe(true);
  });

  it('refuses a handler that declares no access, even to a signed-in caller', () => {
    expect(() => guard.canActivate(contextFor('forgotten', { author: { id: 1 } }))).toThrow(
      ForbiddenException,
    );
  });
});
