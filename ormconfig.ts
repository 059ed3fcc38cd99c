import { DataSource, type DataSourceOptions } from 'typeorm';
import { loadConfig } from './src/config/load-config';
import { buildDataSourceOptions } from './src/infra/database/data-source-options';
import { EmbeddedPostgres } from './src/infra/database/embedded-postgres';

/** A DataSource that also stops the embedded Postgres it runs on, so the CLI exits when done. */
class EmbeddedDataSource extends DataSource {
  constructor(
    options: DataSourceOptions,
    private readonly embedded: EmbeddedPostgres,
  ) {
    super(options);
  }

  override async destroy(): Promise<void> {
    await super.destroy();
    await this.embedded.stop();
  }
}

/** The TypeORM CLI's data source (`npm run migration:run`), from the same config as the app. */
async function createCliDataSource(): Promise<DataSource> {
  const config = loadConfig();
  if (config.database.url) {
    return new DataSource(buildDataSourceOptions(config.database.url, { migrationsRun: false }));
  }
  const embedded = await EmbeddedPostgres.start(config.dataDir);
  return new EmbeddedDataSource(
    buildDataSourceOptions(embedded.url, { migrationsRun: false }),
    embedded,
  );
}

export default createCliDataSource();
