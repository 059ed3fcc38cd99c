import { Module } from '@nestjs/common';
import { EmailRateLimits } from './email-rate-limits.service';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimiter } from './rate-limit.service';
import { RetryAfterInterceptor } from './retry-after.interceptor';

/** The rate limits listed in .env.example (RATE_LIMIT_*), counted in the Redis store (see docs/DEVELOPMENT.md). */
@Module({
  providers: [RateLimiter, RateLimitGuard, RetryAfterInterceptor, EmailRateLimits],
  exports: [RateLimiter, RateLimitGuard, RetryAfterInterceptor, EmailRateLimits],
})
export class RateLimitModule {}
