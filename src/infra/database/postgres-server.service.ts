import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { EMBEDDED_POOL_SIZE, EmbeddedPostgres } from './embedded-postgres';

/**
 * Decides where Postgres is: DATABASE_URL, or an embedded PGlite started here. It owns the embedded
 * server's lifetime, so it closes the DataSource itself before stopping the server underneath it.
 */
@Injectable()
export class PostgresServer implements OnApplicationShutdown {
  private readonly logger = new Logger(PostgresServer.name);
  private embedded?: EmbeddedPostgres;

  constructor(
    private readonly config: AppConfig,
    private readonly moduleRef: ModuleRef,
  ) {}

  get mode(): 'external' | 'embedded' {
    return this.config.database.url ? 'external' : 'embedded';
  }

  get poolSize(): number {
    return this.embedded ? EMBEDDED_POOL_SIZE : 10;
  }

  async connectionUrl(): Promise<string> {
    if (this.config.database.url) return this.config.database.url;
    if (!this.embedded) {
      this.embedded = await EmbeddedPostgres.start(this.config.dataDir);
      this.logger.log(`Embedded Postgres (PGlite) with data in ${this.config.dataDir}/pgdata`);
    }
    return this.embedded.url;
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded) return;
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    if (dataSource.isInitialized) await dataSource.destroy();
    await this.embedded.stop();
    this.embedded = undefined;
  }
}
