import { HttpStatus, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import cookieParser from 'cookie-parser';
import { json, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { ConnectModule } from './connect.module';
import type { AppConfig } from './config/app-config';

export const BODY_LIMIT = '100kb';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
}

const BODY_ERRORS: Record<string, { status: number; message: string }> = {
  'entity.too.large': { status: 413, message: `Request body is larger than ${BODY_LIMIT}` },
  'entity.parse.failed': { status: 400, message: 'Request body is not valid JSON' },
  'encoding.unsupported': { status: 415, message: 'Unsupported content encoding' },
  'charset.unsupported': { status: 415, message: 'Unsupported charset' },
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Keys that class-transformer drops silently (prototype pollution guard); refused instead, like any unknown field. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function prototypeKeyIn(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const key of Object.keys(value)) {
    if (PROTOTYPE_KEYS.has(key)) return key;
    const nested = prototypeKeyIn((value as Record<string, unknown>)[key]);
    if (nested) return nested;
  }
  return undefined;
}

function hasBody(req: Request): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0'
  );
}

/**
 * JSON body parsing whose failures answer in Nest's error shape instead of Express's HTML page. A
 * state-changing REST request with a body that is not JSON is refused (415) rather than read as an
 * empty one; /graphql is left to Apollo, whose CSRF prevention answers such requests itself.
 */
function jsonBody(): (req: Request, res: Response, next: NextFunction) => void {
  const parse = json({ limit: BODY_LIMIT });
  const refuse = (res: Response, status: number, message: string) =>
    res.status(status).json({ statusCode: status, message, error: httpReason(status) });
  return (req, res, next) => {
    if (
      !SAFE_METHODS.has(req.method) &&
      hasBody(req) &&
      !req.is('application/json') &&
      !req.path.startsWith('/graphql')
    ) {
      refuse(res, 415, 'Request body must be JSON (Content-Type: application/json)');
      return;
    }
    parse(req, res, (error?: BodyParserError) => {
      if (error) {
        const known = BODY_ERRORS[error.type ?? ''];
        const status = known?.status ?? error.status ?? HttpStatus.BAD_REQUEST;
        refuse(res, status, known?.message ?? 'Request body could not be read');
        return;
      }
      const forbidden = prototypeKeyIn(req.body);
      if (forbidden) {
        refuse(res, 400, `property ${forbidden} should not exist`);
        return;
      }
      next();
    });
  };
}

function httpReason(status: number): string {
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    413: 'Payload Too Large',
    415: 'Unsupported Media Type',
  };
  return reasons[status] ?? 'Bad Request';
}

/** Applies the HTTP hygiene every entry point shares (main, connect, the test harness). */
export function configureApp(
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
  });
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  if (options.openApi) serveOpenApi(app, config);
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
  const connectConfig: AppConfig = Object.freeze({
    ...config,
    corsOrigins: config.connect.corsOrigins,
    database: { ...config.database, migrationsRun: false },
  });
  const app = await NestFactory.create<NestExpressApplication>(
    ConnectModule.forRoot(connectConfig),
    { bodyParser: false, bufferLogs: true },
  );
  configureApp(app, connectConfig, { openApi: false });
  return app;
}

export async function createApp(config: AppConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    bufferLogs: true,
  });
  configureApp(app, config);
  serveDemo(app, config);
  return app;
}
