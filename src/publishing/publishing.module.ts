import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { AccessModule } from '../permissions/access.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { AuthorDirectory } from './author-directory.service';
import { FollowsService } from './follows.service';
import { PublishingResolver } from './publishing.resolver';
import { ShoutsService } from './shouts.service';

/** Shouts and followers: the small domain that the permissions protect and notifications report. */
@Module({
  imports: [AccessModule, EventsModule, RateLimitModule],
  providers: [AuthorDirectory, FollowsService, ShoutsService, PublishingResolver],
  exports: [FollowsService, ShoutsService],
})
export class PublishingModule {}
