import { Injectable, NotFoundException } from '@nestjs/common';
import type { AuthContext } from '../permissions/auth-context';
import { DomainEvents } from '../events/domain-events.service';
import { fetchPage, type Page, type PageArgs } from '../graphql/pagination';
import { ShoutRepository } from '../infra/database/tables/shout.repository';
import { PermissionsService } from '../permissions/permissions.service';
import type { Shout } from '../infra/database/tables/shout.entity';

/** Shouts: anyone reads the published ones; unpublished ones only their author and moderators. */
@Injectable()
export class ShoutsService {
  constructor(
    private readonly shouts: ShoutRepository,
    private readonly permissions: PermissionsService,
    private readonly events: DomainEvents,
  ) {}

  async list(viewer: AuthContext | undefined, page: PageArgs): Promise<Page<Shout>> {
    const visibility = await this.visibility(viewer);
    return fetchPage(
      page,
      (beforeId, limit) => this.shouts.list(visibility, { beforeId, limit }),
      (shout) => shout.id,
    );
  }

  /** 404 for a shout the viewer may not see, as for one that does not exist. */
  async get(viewer: AuthContext | undefined, id: number): Promise<Shout> {
    const shout = await this.shouts.findById(id);
    const visibility = await this.visibility(viewer);
    if (
      !shout ||
      (shout.unpublishedAt !== null &&
        !visibility.seesUnpublished &&
        shout.authorId !== visibility.viewerId)
    ) {
      throw new NotFoundException('Shout not found');
    }
    return shout;
  }

  async create(authorId: number, title: string, body: string): Promise<Shout> {
    const shout = await this.shouts.create(authorId, title, body);
    this.events.emit('shout.created', {
      shoutId: shout.id,
      authorId,
      title: shout.title,
      createdAt: shout.createdAt,
    });
    return shout;
  }

  /** Idempotent: unpublishing an unpublished shout keeps the first moderator's reason. */
  async unpublish(moderatorId: number, id: number, reason: string): Promise<Shout> {
    const shout = await this.shouts.unpublish(id, moderatorId, reason);
    if (!shout) throw new NotFoundException('Shout not found');
    return shout;
  }

  private async visibility(viewer: AuthContext | undefined) {
    if (!viewer) return { seesUnpublished: false };
    viewer.access ??= this.permissions.accessOf(viewer.author.id);
    const { permissions } = await viewer.access;
    return { viewerId: viewer.author.id, seesUnpublished: permissions.includes('moderate') };
  }
}
