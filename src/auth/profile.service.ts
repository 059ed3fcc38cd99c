import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { DuplicateKeyError } from '../infra/database/tables/duplicate-key.error';
import {
  AUTHOR_SLUG_UNIQUE,
  AuthorRepository,
  type ProfileChanges,
} from '../infra/database/tables/author.repository';
import { PermissionsService } from '../permissions/permissions.service';
import type { Author } from '../infra/database/tables/author.entity';

/** What an author sees of their own account (REST in snake_case, GraphQL in camelCase). */
export interface ProfileView {
  id: number;
  email: string;
  name: string | null;
  slug: string;
  pic: string | null;
  bio: string | null;
  emailVerified: boolean;
  phone: string | null;
  phoneVerified: boolean;
  roles: string[];
  permissions: string[];
  createdAt: number;
  lastSeen: number | null;
}

@Injectable()
export class ProfileService {
  constructor(
    private readonly authors: AuthorRepository,
    private readonly permissions: PermissionsService,
  ) {}

  async view(author: Author): Promise<ProfileView> {
    const { roles, permissions } = await this.permissions.accessOf(author.id);
    return {
      id: author.id,
      email: author.email,
      name: author.name,
      slug: author.slug,
      pic: author.pic,
      bio: author.bio,
      emailVerified: author.emailVerified,
      phone: author.phone,
      phoneVerified: author.phoneVerified,
      roles,
      permissions,
      createdAt: author.createdAt,
      lastSeen: author.lastSeen,
    };
  }

  async viewById(authorId: number): Promise<ProfileView> {
    const author = await this.authors.findById(authorId);
    if (!author) throw new NotFoundException('Author not found');
    return this.view(author);
  }

  async update(authorId: number, changes: ProfileChanges): Promise<ProfileView> {
    let updated: Author | null;
    try {
      updated = await this.authors.updateProfile(authorId, changes);
    } catch (error) {
      if (error instanceof DuplicateKeyError && error.constraint === AUTHOR_SLUG_UNIQUE) {
        throw new ConflictException('This slug is already taken');
      }
      throw error;
    }
    if (!updated) throw new NotFoundException('Author not found');
    return this.view(updated);
  }
}
