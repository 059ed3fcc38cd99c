import { Injectable } from '@nestjs/common';
import type { FetchJsonInit } from './oauth-provider';

/** How long a provider may take to answer one request before the sign-in fails as `provider_timeout`. */
export const PROVIDER_TIMEOUT_MS = 10_000;

/** A provider answered with an error status, a body that is not JSON, or not at all. */
export class ProviderApiError extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
    super(message);
  }
}

/** Provider API calls (profiles, emails): JSON over HTTPS with a deadline. */
@Injectable()
export class ProviderApi {
  readonly fetchJson = async (url: string, init: FetchJsonInit = {}): Promise<unknown> => {
    let response: Response;
    try {
      response = await fetch(url, {
        method: init.method ?? 'GET',
        headers: { Accept: 'application/json', ...init.headers },
        body: init.body,
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new ProviderApiError(`${new URL(url).host}: ${(error as Error).message}`, timedOut);
    }
    if (!response.ok) {
      throw new ProviderApiError(`${new URL(url).host} answered ${response.status}`);
    }
    try {
      return await response.json();
    } catch {
      throw new ProviderApiError(`${new URL(url).host} answered with a body that is not JSON`);
    }
  };
}
