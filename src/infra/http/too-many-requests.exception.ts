import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * Every 429 of the service, in Nest's error shape. `Retry-After` is set from `retryAfterSeconds`
 * when there is one (RetryAfterInterceptor); a full per-user stream cap has none to give.
 */
export class TooManyRequestsException extends HttpException {
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(
      { statusCode: HttpStatus.TOO_MANY_REQUESTS, message, error: 'Too Many Requests' },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }

  /** A rate limit was exceeded; the caller may try again after `seconds`. */
  static retryAfter(seconds: number): TooManyRequestsException {
    return new TooManyRequestsException(
      `Too many requests; try again in ${seconds} seconds`,
      seconds,
    );
  }
}
