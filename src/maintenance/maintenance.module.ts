import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module';
import { TokensModule } from '../tokens/tokens.module';
import { SessionCleanupScheduler } from './session-cleanup.scheduler';

/** Scheduled upkeep of what the other modules store (docs/RELIABILITY.md, "Scheduled cleanup"). */
@Module({ imports: [TokensModule, MetricsModule], providers: [SessionCleanupScheduler] })
export class MaintenanceModule {}
