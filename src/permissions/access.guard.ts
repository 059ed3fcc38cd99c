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

/**
 * The one access check for REST and GraphQL. A handler with no declared access is refused, so a
 * forgotten decorator closes a route instead of opening it.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly logger = new Logger(AccessGuard.name);

  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
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
    if (access.kind === 'public') return true;
    if (!httpContextOf(context).req.auth) {
      throw new UnauthorizedException('Authentication required');
    }
    return true;
  }
}
