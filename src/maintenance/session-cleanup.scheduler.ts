import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Counter, Gauge } from 'prom-client';
import { AppConfig } from '../config/app-config';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';
import { MetricsService } from '../metrics/metrics.service';
import { BatchTokenOperations } from '../tokens/batch-token.service';

const LOCK_KEY = 'session_cleanup:lock';
const INTERVAL_NAME = 'session-cleanup';

export type CleanupOutcome = 'ran' | 'skipped' | 'failed';

/**
 * Prunes `user_sessions:{id}` of ids whose session has expired, every SESSION_CLEANUP_INTERVAL_S,
 * on one instance at a time: a run takes a Redis lock that lasts almost the whole interval and is
 * never released, so of all instances exactly one runs per interval (docs/RELIABILITY.md).
 * Outcomes and what was removed are counted in /metrics.
 */
@Injectable()
export class SessionCleanupScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(SessionCleanupScheduler.name);
  private readonly instance = randomUUID();
  private readonly runs: Counter<'outcome'>;
  private readonly removed: Counter;
  private readonly lastRun: Gauge;

  constructor(
    private readonly batch: BatchTokenOperations,
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly config: AppConfig,
    metrics: MetricsService,
    private readonly scheduler: SchedulerRegistry,
  ) {
    const registers = [metrics.registry];
    this.runs = new Counter({
      name: 'tessera_session_cleanup_runs_total',
      help: 'Scheduled session cleanups on this instance, by outcome (skipped: another instance had the turn)',
      labelNames: ['outcome'],
      registers,
    });
    this.removed = new Counter({
      name: 'tessera_session_cleanup_removed_total',
      help: 'Dead session ids removed from user_sessions lists by this instance',
      registers,
    });
    this.lastRun = new Gauge({
      name: 'tessera_session_cleanup_last_run_timestamp_seconds',
      help: 'When this instance last ran the session cleanup (epoch seconds)',
      registers,
    });
  }

  /** The registry clears the interval at shutdown. */
  onApplicationBootstrap(): void {
    const timer = setInterval(
      () => void this.runOnce(),
      this.config.sessionCleanupIntervalS * 1000,
    );
    timer.unref();
    this.scheduler.addInterval(INTERVAL_NAME, timer);
  }

  /** One turn: runs the cleanup if this instance gets the lock for this interval. */
  async runOnce(): Promise<{ outcome: CleanupOutcome; removed: number }> {
    const turnMs = Math.max(1_000, this.config.sessionCleanupIntervalS * 1000 - 1_000);
    try {
      const mine = await this.store.set(LOCK_KEY, this.instance, {
        ttlMs: turnMs,
        onlyIfAbsent: true,
      });
      if (!mine) {
        this.runs.inc({ outcome: 'skipped' });
        return { outcome: 'skipped', removed: 0 };
      }
      const removed = await this.batch.cleanupExpiredSessions();
      this.runs.inc({ outcome: 'ran' });
      this.removed.inc(removed);
      this.lastRun.set(Math.floor(Date.now() / 1000));
      return { outcome: 'ran', removed };
    } catch (error) {
      this.runs.inc({ outcome: 'failed' });
      this.logger.warn(`session cleanup failed: ${(error as Error).message}`);
      return { outcome: 'failed', removed: 0 };
    }
  }
}
