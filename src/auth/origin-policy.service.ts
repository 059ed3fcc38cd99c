import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AppConfig } from '../config/app-config';

/** Which browser origins may act with a user's cookie: the service's own, and CORS_ORIGINS. */
@Injectable()
export class OriginPolicy {
  private readonly allowed: ReadonlySet<string>;

  constructor(config: AppConfig) {
    this.allowed = new Set(config.corsOrigins);
  }

  /** The origin a browser says the request comes from (Origin, else Referer's), if any. */
  originOf(req: Request): string | undefined {
    const origin = req.get('origin');
    if (origin) return origin;
    const referer = req.get('referer');
    if (!referer) return undefined;
    try {
      return new URL(referer).origin;
    } catch {
      return 'null';
    }
  }

  allows(origin: string, req: Request): boolean {
    return this.allowed.has(origin) || origin === `${req.protocol}://${req.get('host')}`;
  }
}
