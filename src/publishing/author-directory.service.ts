import { Injectable, NotFoundException } from '@nestjs/common';
import type { Author } from '../infra/database/tables/author.entity';
import { AuthorRepository } from '../infra/database/tables/author.repository';

/** Public lookup of authors by id or slug. */
@Injectable()
export class AuthorDirectory {
  constructor(private readonly authors: AuthorRepository) {}

  async find(lookup: { id?: number; slug?: string }): Promise<Author> {
    const author =
      lookup.id !== undefined
        ? await this.authors.findById(lookup.id)
        : await this.authors.findBySlug(lookup.slug ?? '');
    if (!author) throw new NotFoundException('Author not found');
    return author;
  }
}
