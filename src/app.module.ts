import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from './config/app-config';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ConfigModule } from './config/config.module';
import { EventsModule } from './events/events.module';
import { GraphQLModule } from './graphql/graphql.module';
import { HealthModule } from './health/health.module';
import { DatabaseModule } from './infra/database/database.module';
import { LoggingModule } from './infra/logging/logging.module';
import { MailModule } from './infra/mail/mail.module';
import { RedisModule } from './infra/redis/redis.module';
import { SmsModule } from './infra/sms/sms.module';
import { MetricsModule } from './metrics/metrics.module';
import { AccessModule } from './permissions/access.module';
import { NotificationsModule } from './notifications/notifications.module';
import { PermissionsModule } from './permissions/permissions.module';
import { PublishingModule } from './publishing/publishing.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { SseModule } from './sse/sse.module';
import { JwksModule } from './tokens/jwks.module';
import { TokensModule } from './tokens/tokens.module';

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
        MailModule,
        SmsModule,
        MetricsModule,
        HealthModule,
        TokensModule,
        JwksModule,
        AuditModule,
        EventsModule,
        RateLimitModule,
        AccessModule,
        PermissionsModule,
        GraphQLModule,
        AuthModule,
        PublishingModule,
        NotificationsModule,
        SseModule,
      ],
    };
  }
}
