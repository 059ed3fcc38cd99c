import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { TokensModule } from '../tokens/tokens.module';
import { AuthenticationMiddleware } from './authentication.middleware';
import { LegacySessions } from './legacy-sessions.service';
import { OriginPolicy } from './origin-policy.service';
import { SessionCookieService } from './session-cookie.service';

/**
 * Who is calling, for every route: the authentication middleware with the cookie and origin rules
 * it applies. Shared by the full app and the standalone connect process, which has no /auth routes.
 */
@Module({
  imports: [TokensModule],
  providers: [AuthenticationMiddleware, OriginPolicy, SessionCookieService, LegacySessions],
  exports: [OriginPolicy, SessionCookieService, TokensModule, LegacySessions],
})
export class AuthCoreModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AuthenticationMiddleware).forRoutes('{*path}');
  }
}
