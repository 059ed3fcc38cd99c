import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import type { RateLimitName } from '../config/app-config';
import { RateLimitGuard } from './rate-limit.guard';

export const RATE_LIMITS_KEY = 'tessera:rate-limits';

/** Applies the named limits (configured by RATE_LIMIT_* variables) to a route or resolver. */
export const RateLimit = (...names: RateLimitName[]) =>
  applyDecorators(SetMetadata(RATE_LIMITS_KEY, names), UseGuards(RateLimitGuard));
