import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';
import { MetricsService } from '../metrics/metrics.service';
import { OAUTH2_PROVIDERS, type ProviderName } from './oauth-provider';

export interface ProviderStats {
  provider: ProviderName;
  signIns: number;
  failures: number;
}

const PROVIDERS: readonly ProviderName[] = [...OAUTH2_PROVIDERS, 'telegram'];
const statsKey = (provider: string, what: 'sign_ins' | 'failures') =>
  `oauth_stats:${provider}:${what}`;

/**
 * Sign-ins and failures per provider: in /metrics for this instance (with the error code), and
 * counted in the shared store for the admin `tokenStats`, across instances and restarts.
 */
@Injectable()
export class OAuthStats {
  private readonly logger = new Logger(OAuthStats.name);
  private readonly signIns: Counter<'provider'>;
  private readonly failures: Counter<'provider' | 'error'>;

  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    metrics: MetricsService,
  ) {
    const registers = [metrics.registry];
    this.signIns = new Counter({
      name: 'tessera_oauth_sign_ins_total',
      help: 'Completed sign-ins and account links through an OAuth provider',
      labelNames: ['provider'],
      registers,
    });
    this.failures = new Counter({
      name: 'tessera_oauth_failures_total',
      help: 'OAuth callbacks that failed, by provider and error code',
      labelNames: ['provider', 'error'],
      registers,
    });
  }

  async signedIn(provider: ProviderName): Promise<void> {
    this.signIns.inc({ provider });
    await this.count(statsKey(provider, 'sign_ins'));
  }

  async failed(provider: ProviderName, error: string): Promise<void> {
    this.failures.inc({ provider, error });
    await this.count(statsKey(provider, 'failures'));
  }

  /** Every provider, enabled or not, with what the shared counters hold. */
  async all(): Promise<ProviderStats[]> {
    return Promise.all(
      PROVIDERS.map(async (provider) => {
        const [signIns, failures] = await Promise.all([
          this.store.get(statsKey(provider, 'sign_ins')),
          this.store.get(statsKey(provider, 'failures')),
        ]);
        return { provider, signIns: Number(signIns ?? 0), failures: Number(failures ?? 0) };
      }),
    );
  }

  /** A statistic is not worth failing a sign-in for. */
  private async count(key: string): Promise<void> {
    await this.store
      .incr(key)
      .catch((error: Error) => this.logger.warn(`oauth stats: ${error.message}`));
  }
}
