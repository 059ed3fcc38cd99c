import { type DynamicModule, Module } from '@nestjs/common';
import { AuthCoreModule } from './auth/auth-core.module';
import type { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { HealthModule } from './health/health.module';
import { DatabaseModule } from './infra/database/database.module';
import { LoggingModule } from './infra/logging/logging.module';
import { RedisModule } from './infra/redis/redis.module';
import { MetricsModule } from './metrics/metrics.module';
import { AccessModule } from './permissions/access.module';
import { ConnectRootController } from './sse/connect-root.controller';
import { SseModule } from './sse/sse.module';

/**
 * The standalone connect process: the stream (at / and /sse/notifications), POST /sse/ticket,
 * /health and /metrics, and nothing else. It shares Postgres and Redis with the app.
 */
@Module({})
export class ConnectModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConnectModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule,
        DatabaseModule,
        RedisModule,
        MetricsModule,
        HealthModule,
        AccessModule,
        AuthCoreModule,
        SseModule,
      ],
      controllers: [ConnectRootController],
    };
  }
}
