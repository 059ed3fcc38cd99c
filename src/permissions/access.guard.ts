import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  Logger,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { httpContextOf } from '../infra/http/http-context';
import { ACCESS_KEY, type Access } from './access.decorator';
import { authOf } from './auth-context';
import { PermissionsService } from './permissions.service';

/**
 * The one access check for REST and GraphQL. A handler with no declared access is refused, so a
 * forgotten decorator closes a route instead of opening it. Permissions are read per request (from
 * the shared cache), so a role change applies on the author's next request.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly logger = new Logger(AccessGuard.name);

  constructor(
    private readonly reflector: Reflector,
    private readonly permissions: PermissionsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!access) {
      this.logger.error(
        `${context.getClass().name}.${context.getHandler().name} declares no access; refused`,
      );
      throw new ForbiddenException('Access denied');
    }
    if (access.kind === 'public' || access.kind === 'self') return true;
    const auth = authOf(httpContextOf(context).req);
    if (!auth) throw new UnauthorizedException('Authentication required');
    if (access.kind === 'authenticated') return true;

    // One lookup per request, however many guarded GraphQL fields it resolves.
    auth.access ??= this.permissions.accessOf(auth.author.id);
    const held = (await auth.access).permissions;
    const missing = access.permissions.filter((permission) => !held.includes(permission));
    if (missing.length > 0) {
      throw new ForbiddenException(`Missing permission: ${missing.join(', ')}`);
    }
    return true;
  }
}
