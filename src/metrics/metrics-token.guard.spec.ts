import { type ExecutionContext, NotFoundException, UnauthorizedException } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { MetricsTokenGuard } from './metrics-token.guard';

const TOKEN = 'scrape-token-0123456789abcdef';

function guardFor(env: AppConfig['env'], token?: string): MetricsTokenGuard {
  return new MetricsTokenGuard({ env, metrics: { token } } as AppConfig);
}

function scrape(authorization?: string) {
  const headers = new Map<string, string>();
  const req = {
    method: 'GET',
    originalUrl: '/metrics',
    get: (name: string) => (name.toLowerCase() === 'authorization' ? authorization : undefined),
  };
  const res = { setHeader: (name: string, value: string) => headers.set(name, value) };
  const context = {
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
  } as unknown as ExecutionContext;
  return { context, headers };
}

describe('MetricsTokenGuard', () => {
  it('lets anyone scrape outside production when no METRICS_TOKEN is set', () => {
    expect(guardFor('development').canActivate(scrape().context)).toBe(true);
    expect(guardFor('test').canActivate(scrape('Bearer anything').context)).toBe(true);
  });

  it('answers 404, as for a route that does not exist, in production without METRICS_TOKEN', () => {
    const guard = guardFor('production');
    for (const authorization of [undefined, `Bearer ${TOKEN}`]) {
      const attempt = () => guard.canActivate(scrape(authorization).context);
      expect(attempt).toThrow(NotFoundException);
      expect(attempt).toThrow('Cannot GET /metrics');
    }
  });

  it.each(['production', 'development'] as const)(
    'with METRICS_TOKEN in %s, lets only that bearer token through',
    (env) => {
      const guard = guardFor(env, TOKEN);
      expect(guard.canActivate(scrape(`Bearer ${TOKEN}`).context)).toBe(true);
      expect(guard.canActivate(scrape(`bearer  ${TOKEN}`).context)).toBe(true);
      for (const authorization of [
        undefined,
        'Bearer',
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(0, -1)}`,
        `Basic ${Buffer.from(`metrics:${TOKEN}`).toString('base64')}`,
        TOKEN,
      ]) {
        const { context, headers } = scrape(authorization);
        expect(() => guard.canActivate(context)).toThrow(UnauthorizedException);
        expect(headers.get('WWW-Authenticate')).toBe('Bearer realm="metrics"');
      }
    },
  );
});
