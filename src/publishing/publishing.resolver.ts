import { BadRequestException } from '@nestjs/common';
import { Args, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { AuthContext } from '../permissions/auth-context';
import type { Author } from '../infra/database/tables/author.entity';
import { PageArgs } from '../graphql/pagination';
import {
  AuthRequired,
  CurrentAuth,
  CurrentUser,
  PermissionRequired,
  Public,
} from '../permissions/access.decorator';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { AuthorDirectory } from './author-directory.service';
import { FollowsService } from './follows.service';
import {
  AuthorConnection,
  AuthorLookupArgs,
  AuthorType,
  CreateShoutInput,
  FollowersArgs,
  ShoutConnection,
  ShoutType,
  UnpublishShoutArgs,
} from './publishing.types';
import { ShoutsService } from './shouts.service';

@Resolver()
export class PublishingResolver {
  constructor(
    private readonly shouts: ShoutsService,
    private readonly follows: FollowsService,
    private readonly directory: AuthorDirectory,
  ) {}

  @Query(() => ShoutConnection, { name: 'shouts', description: 'Newest first' })
  @Public()
  listShouts(@CurrentAuth() viewer: AuthContext | undefined, @Args() page: PageArgs) {
    return this.shouts.list(viewer, page);
  }

  @Query(() => ShoutType)
  @Public()
  shout(
    @CurrentAuth() viewer: AuthContext | undefined,
    @Args('id', { type: () => Int }) id: number,
  ): Promise<ShoutType> {
    return this.shouts.get(viewer, id);
  }

  @Mutation(() => ShoutType)
  @PermissionRequired('write')
  @RateLimit('shoutAuthor')
  createShout(
    @CurrentUser() author: Author,
    @Args('input') input: CreateShoutInput,
  ): Promise<ShoutType> {
    return this.shouts.create(author.id, input.title, input.body);
  }

  @Mutation(() => ShoutType)
  @PermissionRequired('moderate')
  unpublishShout(
    @CurrentUser() moderator: Author,
    @Args() args: UnpublishShoutArgs,
  ): Promise<ShoutType> {
    return this.shouts.unpublish(moderator.id, args.id, args.reason);
  }

  @Query(() => AuthorType)
  @Public()
  async author(@Args() lookup: AuthorLookupArgs): Promise<AuthorType> {
    if ((lookup.id === undefined) === (lookup.slug === undefined)) {
      throw new BadRequestException('Give exactly one of id and slug');
    }
    return this.directory.find(lookup);
  }

  @Query(() => AuthorConnection)
  @Public()
  followers(@Args() args: FollowersArgs) {
    return this.follows.followersOf(args.authorId, args);
  }

  @Mutation(() => Boolean, { description: 'Idempotent; you cannot follow yourself' })
  @AuthRequired()
  @RateLimit('followAuthor')
  async follow(
    @CurrentUser() follower: Author,
    @Args('authorId', { type: () => Int }) authorId: number,
  ): Promise<boolean> {
    await this.follows.follow(follower.id, authorId);
    return true;
  }

  @Mutation(() => Boolean, { description: 'Idempotent' })
  @AuthRequired()
  @RateLimit('followAuthor')
  async unfollow(
    @CurrentUser() follower: Author,
    @Args('authorId', { type: () => Int }) authorId: number,
  ): Promise<boolean> {
    await this.follows.unfollow(follower.id, authorId);
    return true;
  }
}
