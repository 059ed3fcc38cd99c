import { Module } from '@nestjs/common';
import { AuthCoreModule } from '../auth/auth-core.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { MetricsModule } from '../metrics/metrics.module';
import { NotificationFeedModule } from '../notifications/notification-feed.module';
import { FeedFollowers } from './feed-follower.service';
import { NotificationStream } from './notification-stream.service';
import { SseTicketService } from './sse-ticket.service';
import { SseController } from './sse.controller';
import { SseService } from './sse.service';
import { StreamAuthService } from './stream-auth.service';
import { StreamMetrics } from './stream-metrics.service';
import { StreamRegistry } from './stream-registry.service';

/** The notification stream and its tickets (README, "Real-time notifications"). */
@Module({
  imports: [AuthCoreModule, MetricsModule, NotificationFeedModule, RateLimitModule],
  controllers: [SseController],
  providers: [
    SseService,
    SseTicketService,
    StreamAuthService,
    StreamMetrics,
    StreamRegistry,
    FeedFollowers,
    NotificationStream,
  ],
  // The WebSocket transport (NotificationSocketModule) shares the registry, cap and feed.
  exports: [SseService, StreamAuthService, StreamRegistry, StreamMetrics, FeedFollowers],
})
export class SseModule {}
