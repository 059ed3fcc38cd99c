import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../../config/app-config';
import { TerminusModule } from '@nestjs/terminus';
import { DatabaseHealthIndicator } from './database.health';
import { buildDataSourceOptions } from './data-source-options';
import { ENTITIES } from './entities';
import { PostgresServer } from './postgres-server.service';
import { AuditEventRepository } from './tables/audit-event.repository';
import { AuthorRoleRepository } from './tables/author-role.repository';
import { AuthorRepository } from './tables/author.repository';
import { OAuthAccountRepository } from './tables/oauth-account.repository';
import { FollowerRepository } from './tables/follower.repository';
import { NotificationRepository } from './tables/notification.repository';
import { RoleRepository } from './tables/role.repository';
import { ShoutRepository } from './tables/shout.repository';

const REPOSITORIES = [
  AuthorRepository,
  AuthorRoleRepository,
  OAuthAccountRepository,
  AuditEventRepository,
  RoleRepository,
  ShoutRepository,
  FollowerRepository,
  NotificationRepository,
];

@Module({ providers: [PostgresServer], exports: [PostgresServer] })
class PostgresServerModule {}

/** Postgres through TypeORM, with the repositories feature modules use instead of the DataSource. */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      imports: [PostgresServerModule],
      inject: [AppConfig, PostgresServer],
      useFactory: async (config: AppConfig, server: PostgresServer) => ({
        ...buildDataSourceOptions(await server.connectionUrl(), {
          migrationsRun: config.database.migrationsRun,
          poolSize: server.poolSize,
        }),
        retryAttempts: 2,
        retryDelay: 1000,
      }),
    }),
    TypeOrmModule.forFeature(ENTITIES),
    TerminusModule,
  ],
  providers: [...REPOSITORIES, DatabaseHealthIndicator],
  exports: [...REPOSITORIES, DatabaseHealthIndicator],
})
export class DatabaseModule {}
