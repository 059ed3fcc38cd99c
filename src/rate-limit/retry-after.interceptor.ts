import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { catchError, type Observable, throwError } from 'rxjs';
import { httpContextOf } from '../infra/http/http-context';
import { TooManyRequestsException } from '../infra/http/too-many-requests.exception';

/**
 * Sets `Retry-After` for a 429 thrown by a service (limits keyed by an email are counted after the
 * input is validated, so past the guard), on REST and GraphQL alike.
 */
@Injectable()
export class RetryAfterInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((error: unknown) => {
        if (error instanceof TooManyRequestsException && error.retryAfterSeconds !== undefined) {
          httpContextOf(context).res.setHeader('Retry-After', String(error.retryAfterSeconds));
        }
        return throwError(() => error);
      }),
    );
  }
}
