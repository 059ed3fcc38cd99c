import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';

/**
 * The framework's floor for the HTTP rows of `npm run bench`: a bare Nest 12 app on Express with
 * one JSON route, nothing else (no guards, middleware, logging or database). PORT is required.
 */
@Controller()
class FloorController {
  @Get()
  hello(): { ok: true } {
    return { ok: true };
  }
}

@Module({ controllers: [FloorController] })
class FloorModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(FloorModule, { logger: false });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
