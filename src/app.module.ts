import { type DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { MaintenanceModule } from './maintenance/maintenance.module';
import type { AppConfig } from './config/app-config';
import { AdminModule } from './admin/admin.module';
import { AuthModule } from './auth/auth.module';
import { ConfigModule } from './config/config.module';
import { GraphQLModule } from './graphql/graphql.module';
import { HealthModule } from './health/health.module';
import { DatabaseModule } from './infra/database/database.module';
import { LoggingModule } from './infra/logging/logging.module';
import { RedisModule } from './infra/redis/redis.module';
import { MetricsModule } from './metrics/metrics.module';
import { AccessModule } from './permissions/access.module';
import { NotificationsModule } from './notifications/notifications.module';
import { OAuthModule } from './oauth/oauth.module';
import { PublishingModule } from './publishing/publishing.module';
import { NotificationSocketModule } from './sse/notification-socket.module';
import { SseModule } from './sse/sse.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule,
        DatabaseModule,
        RedisModule,
        MetricsModule,
        // Timers of the app process only (session cleanup); the connect process has none.
        ScheduleModule.forRoot(),
        MaintenanceModule,
        HealthModule,
        AccessModule,
        AdminModule,
        GraphQLModule,
        AuthModule,
        OAuthModule,
        PublishingModule,
        NotificationsModule,
        SseModule,
        NotificationSocketModule,
      ],
    };
  }
}
