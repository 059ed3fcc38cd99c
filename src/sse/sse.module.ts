import { Module } from '@nestjs/common';
import { AuthCoreModule } from '../auth/auth-core.module';
import { NotificationStream } from './notification-stream.service';
import { SseTicketService } from './sse-ticket.service';
import { SseController } from './sse.controller';
import { SseService } from './sse.service';
import { StreamAuthService } from './stream-auth.service';
import { StreamRegistry } from './stream-registry.service';

/** The notification stream of SPEC section 5 and its tickets. */
@Module({
  imports: [AuthCoreModule],
  controllers: [SseController],
  providers: [SseService, SseTicketService, StreamAuthService, StreamRegistry, NotificationStream],
  exports: [SseService],
})
export class SseModule {}
