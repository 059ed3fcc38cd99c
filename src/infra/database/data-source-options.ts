import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';
import { ENTITIES } from './entities';

export function buildDataSourceOptions(
  url: string,
  options: { migrationsRun: boolean; poolSize?: number },
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: options.migrationsRun,
    migrationsTableName: 'migrations',
    synchronize: false,
    logging: false,
    poolSize: options.poolSize ?? 10,
    extra: { connectionTimeoutMillis: 5000 },
  };
}
