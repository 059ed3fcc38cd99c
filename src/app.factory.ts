import * as apolloExpressIntegration from '@as-integrations/express5';
import { type NestApplicationOptions, ValidationPipe } from '@nestjs/common';
import { loadPackage } from '@nestjs/common/utils/load-package.util.js';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import * as classTransformer from 'class-transformer';
import * as classValidator from 'class-validator';
import cookieParser from 'cookie-parser';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { MIGRATED_TOKEN_HEADER } from './auth/authentication.middleware';
import { ConnectModule } from './connect.module';
import { DataDirLock } from './infra/database/data-dir.lock';
import { jsonBody } from './infra/http/json-body.middleware';
import { ServiceUnavailableFilter } from './infra/http/service-unavailable.filter';
import type { AppConfig } from './config/app-config';

/** Applies the HTTP hygiene every entry point shares (main, connect, the test harness). */
function configureApp(
  app: NestExpressApplication,
  config: AppConfig,
  options: { openApi: boolean } = { openApi: true },
): void {
  app.useLogger(app.get(Logger));
  app.set('trust proxy', config.trustProxy);
  app.use(helmet());
  app.use(cookieParser());
  app.use(jsonBody());
  app.enableCors({
    origin: (origin, callback) => callback(null, !origin || config.corsOrigins.includes(origin)),
    credentials: true,
    // A bearer client's migrated token (README, "Switching over from the original service").
    exposedHeaders: [MIGRATED_TOKEN_HEADER],
  });
  app.useGlobalFilters(new ServiceUnavailableFilter(app.getHttpAdapter()));
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      validatorPackage: classValidator,
      transformerPackage: classTransformer,
    }),
  );
  // Production shows the API's shape only when asked to (DOCS_ENABLED).
  if (options.openApi && config.docs.enabled) serveOpenApi(app, config);
}

/**
 * Nothing is imported after start. Where Nest loads a package late, with `import()`, a failed import
 * ends the process (exit 1) rather than failing the call, and such an import does fail when the
 * files changed under a running process, or when a test's environment is torn down while its app is
 * still booting. So the HTTP adapter is passed in (NestFactory would import
 * @nestjs/platform-express), the ValidationPipe is handed class-validator and class-transformer,
 * and Apollo's Express integration is put in the cache `loadPackage` reads first; all are imported
 * statically above. With `abortOnError: false`, an error while the module tree is built reaches the
 * caller (main prints one line and exits 1; a test sees a rejected promise) instead of Nest exiting.
 */
const NEST_OPTIONS: NestApplicationOptions = {
  bodyParser: false,
  bufferLogs: true,
  abortOnError: false,
};

function preloadLazyPackages(): Promise<unknown> {
  return loadPackage(
    '@as-integrations/express5',
    'GraphQLModule',
    async () => apolloExpressIntegration,
  );
}

/** The demo page and the browser client module (`/demo/tessera-stream.js`), from the build. */
function serveDemo(app: NestExpressApplication, config: AppConfig): void {
  app.useStaticAssets(config.demo.pageDir, { prefix: '/demo' });
  app.useStaticAssets(config.demo.scriptDir, { prefix: '/demo' });
}

/** OpenAPI for the REST routes: the UI at /docs, the document at /docs/json. */
function serveOpenApi(app: NestExpressApplication, config: AppConfig): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Tessera')
      .setDescription(
        'Sign-in, sessions, permissions and real-time notifications. GraphQL is served at /graphql.',
      )
      .setVersion('0.1.0')
      .addCookieAuth(config.cookie.name)
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
}

/**
 * The connect process: its own CORS list (CONNECT_CORS_ORIGINS) for both CORS and the origin rule,
 * and no migrations (the app owns the schema; two processes migrating at once would collide).
 */
export async function createConnectApp(config: AppConfig): Promise<NestExpressApplication> {
  if (!config.database.url) DataDirLock.assertFree(config.dataDir);
  const connectConfig: AppConfig = Object.freeze({
    ...config,
    corsOrigins: config.connect.corsOrigins,
    database: { ...config.database, migrationsRun: false },
  });
  const app = await NestFactory.create<NestExpressApplication>(
    ConnectModule.forRoot(connectConfig),
    new ExpressAdapter(),
    NEST_OPTIONS,
  );
  configureApp(app, connectConfig, { openApi: false });
  return app;
}

export async function createApp(config: AppConfig): Promise<NestExpressApplication> {
  if (!config.database.url) DataDirLock.assertFree(config.dataDir);
  await preloadLazyPackages();
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config),
    new ExpressAdapter(),
    NEST_OPTIONS,
  );
  configureApp(app, config);
  serveDemo(app, config);
  return app;
}
