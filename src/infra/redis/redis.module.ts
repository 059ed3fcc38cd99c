import { join } from 'node:path';
import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { IoRedisStore } from './ioredis.store';
import { MemoryStore } from './memory.store';
import { REDIS_STORE, type RedisStore } from './redis-store';

function createStore(config: AppConfig): RedisStore {
  const logger = new Logger('RedisStore');
  const onError = (err: Error) => logger.warn(`Redis: ${err.message}`);
  if (config.redis.url) {
    const host = new URL(config.redis.url).host;
    logger.log(`Redis at ${host}, key prefix "${config.redis.keyPrefix}"`);
    return new IoRedisStore({
      url: config.redis.url,
      keyPrefix: config.redis.keyPrefix,
      commandTimeoutMs: config.redis.commandTimeoutMs,
      onError,
      onRestored: (connection) => logger.log(`Redis ${connection} connection is back`),
    });
  }
  logger.warn('REDIS_URL unset: in-process Redis stand-in, single-instance only');
  // Kept under DATA_DIR so that sessions survive a restart (docs/RELIABILITY.md); DATA_DIR is
  // held by one process at a time.
  return new MemoryStore({ onError, persistPath: join(config.dataDir, 'redis-standin.json') });
}

/** Closes the store after the HTTP server has stopped (Nest runs shutdown hooks after closing it). */
@Injectable()
class RedisStoreCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS_STORE) private readonly store: RedisStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

@Global()
@Module({
  providers: [
    { provide: REDIS_STORE, inject: [AppConfig], useFactory: createStore },
    RedisStoreCloser,
  ],
  exports: [REDIS_STORE],
})
export class RedisModule {}
