import { HttpException, HttpStatus } from '@nestjs/common';

/** 429 in Nest's error shape; `Retry-After` is set from `retryAfterSeconds` (see RetryAfterInterceptor). */
export class RateLimitExceededException extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    super(
      {
        statusCode: HttpStatus.TOO_MANY_REQUESTS,
        message: `Too many requests; try again in ${retryAfterSeconds} seconds`,
        error: 'Too Many Requests',
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
