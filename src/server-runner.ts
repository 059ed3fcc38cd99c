import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AppConfig } from './config/app-config';
import { ConfigError, loadConfig } from './config/load-config';

/**
 * Starts an HTTP entry point (the app, or the connect process): validated configuration or exit 1
 * with one line; listen; on SIGTERM/SIGINT close in order and exit 0.
 */
export function runServer(
  name: string,
  create: (config: AppConfig) => Promise<NestExpressApplication>,
  portOf: (config: AppConfig) => number,
): void {
  start(name, create, portOf).catch((error: unknown) => {
    process.stderr.write(`${name} failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  });
}

async function start(
  name: string,
  create: (config: AppConfig) => Promise<NestExpressApplication>,
  portOf: (config: AppConfig) => number,
): Promise<void> {
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
  const app = await create(config);
  const port = portOf(config);
  await app.listen(port);
  const logger = new Logger(name);
  logger.log(`Listening on http://localhost:${port}`);

  // Nest's enableShutdownHooks() re-raises the signal after closing, so the process would end
  // "killed by SIGTERM"; an orderly stop should exit 0. app.close() tells open streams to
  // reconnect, stops HTTP, then closes Redis and the database.
  // A signal that arrives while stopping is ignored rather than left to kill the process halfway:
  // `npm start` forwards the SIGTERM that a process manager also sends to the whole group.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.log(`${signal}: already shutting down`);
      return;
    }
    stopping = true;
    logger.log(`${signal}: shutting down`);
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`Shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
