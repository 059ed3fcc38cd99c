import { Module } from '@nestjs/common';
import { AuthorDirectory } from './author-directory.service';
import { FollowsService } from './follows.service';
import { PublishingResolver } from './publishing.resolver';
import { ShoutsService } from './shouts.service';

/** Shouts and followers: the small domain that the permissions protect and notifications report. */
@Module({
  providers: [AuthorDirectory, FollowsService, ShoutsService, PublishingResolver],
  exports: [FollowsService, ShoutsService],
})
export class PublishingModule {}
