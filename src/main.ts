import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { ConfigError, loadConfig } from './config/load-config';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const app = await createApp(config);
  await app.listen(config.port);
  const logger = new Logger('Tessera');
  logger.log(`Listening on http://localhost:${config.port}`);

  // Nest's enableShutdownHooks() re-raises the signal after closing, so the process would end
  // "killed by SIGTERM"; an orderly stop should exit 0. app.close() stops HTTP, then Redis and DB.
  const stop = (signal: NodeJS.Signals) => {
    logger.log(`${signal}: shutting down`);
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`Shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`Tessera failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
