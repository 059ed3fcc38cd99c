import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';

const BEARER = /^Bearer +([^\s]+) *$/i;

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Who may scrape /metrics. With METRICS_TOKEN set: only `Authorization: Bearer <METRICS_TOKEN>`.
 * Without it: anyone outside production (the newcomer's setup), no one in production, where the
 * route then answers as if it did not exist. The metrics name routes, counts and process details an
 * outsider has no business reading.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  /** Compared as digests, so the comparison takes the same time whatever the length guessed. */
  private readonly expected?: Buffer;
  private readonly production: boolean;

  constructor(config: AppConfig) {
    this.expected = config.metrics.token === undefined ? undefined : digest(config.metrics.token);
    this.production = config.env === 'production';
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    if (!this.expected) {
      if (this.production) throw new NotFoundException(`Cannot ${req.method} ${req.originalUrl}`);
      return true;
    }
    const presented = BEARER.exec(req.get('authorization') ?? '')?.[1];
    if (presented !== undefined && timingSafeEqual(digest(presented), this.expected)) return true;
    http.getResponse<Response>().setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
    throw new UnauthorizedException('Metrics need Authorization: Bearer <METRICS_TOKEN>');
  }
}
