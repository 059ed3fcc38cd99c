import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { DatabaseHealthIndicator } from '../infra/database/database.health';
import { RedisHealthIndicator } from './redis.health';

export type ComponentStatus = 'up' | 'down';

export interface HealthReport {
  status: 'ok' | 'error';
  db: ComponentStatus;
  redis: ComponentStatus;
}

@Injectable()
export class HealthService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: DatabaseHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  /** Resolves with the report when all is up; throws 503 with the same shape naming what is down. */
  async check(): Promise<HealthReport> {
    try {
      return this.toReport(await this.runChecks());
    } catch (error) {
      if (error instanceof ServiceUnavailableException) {
        throw new ServiceUnavailableException(
          this.toReport(error.getResponse() as HealthCheckResult),
        );
      }
      throw error;
    }
  }

  private runChecks(): Promise<HealthCheckResult> {
    return this.health.check([() => this.db.check('db'), () => this.redis.check('redis')]);
  }

  private toReport(result: HealthCheckResult): HealthReport {
    const status = (key: string): ComponentStatus =>
      result.details?.[key]?.status === 'up' ? 'up' : 'down';
    const db = status('db');
    const redis = status('redis');
    return { status: db === 'up' && redis === 'up' ? 'ok' : 'error', db, redis };
  }
}
