import { applyDecorators, SetMetadata, UseGuards, UseInterceptors } from '@nestjs/common';
import type { RateLimitName } from '../config/app-config';
import { RATE_LIMITS_KEY, RateLimitGuard } from './rate-limit.guard';
import { RetryAfterInterceptor } from './retry-after.interceptor';

/**
 * The named limits (configured by RATE_LIMIT_* variables) that a route or resolver is subject to,
 * as the access table lists them. RateLimitGuard counts those known from the request (IP, session,
 * author); those keyed by an email are counted by EmailRateLimits in the handler's service.
 */
export const RateLimit = (...names: RateLimitName[]) =>
  applyDecorators(
    SetMetadata(RATE_LIMITS_KEY, names),
    UseGuards(RateLimitGuard),
    UseInterceptors(RetryAfterInterceptor),
  );
