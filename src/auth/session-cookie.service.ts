import { Injectable } from '@nestjs/common';
import type { CookieOptions, Request, Response } from 'express';
import { AppConfig } from '../config/app-config';

export type DeliveryMode = 'cookie' | 'bearer';

/** The session cookie, with every attribute from configuration (README, "Configuration"). */
@Injectable()
export class SessionCookieService {
  private readonly name: string;
  private readonly attributes: CookieOptions;
  private readonly maxAgeMs: number;

  constructor(config: AppConfig) {
    this.name = config.cookie.name;
    this.maxAgeMs = config.cookie.maxAgeSeconds * 1000;
    this.attributes = {
      httpOnly: config.cookie.httpOnly,
      secure: config.cookie.secure,
      sameSite: config.cookie.sameSite,
      domain: config.cookie.domain,
      path: '/',
    };
  }

  read(req: Request): string | undefined {
    const value: unknown = req.cookies?.[this.name];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  }

  set(res: Response, token: string): void {
    res.cookie(this.name, token, { ...this.attributes, maxAge: this.maxAgeMs });
  }

  /** Expires the cookie with the attributes it was set with, so the browser drops that same cookie. */
  clear(res: Response): void {
    res.clearCookie(this.name, this.attributes);
  }

  /**
   * Hands a new token to the client the way it asked: as the cookie (never in the body), or, in
   * bearer mode, returned for the body with no cookie. Returns the token only in bearer mode.
   */
  deliver(res: Response, token: string, mode: DeliveryMode): string | undefined {
    if (mode === 'bearer') return token;
    this.set(res, token);
    return undefined;
  }
}
