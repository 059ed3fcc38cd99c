import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AuthorRepository } from '../infra/database/tables/author.repository';

const MAX_BASE_LENGTH = 40;

/** Turns a name into a URL slug: lower-case ASCII letters and digits joined by single hyphens. */
export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_BASE_LENGTH)
    .replace(/-+$/, '');
}

@Injectable()
export class SlugService {
  constructor(private readonly authors: AuthorRepository) {}

  /** A slug for a new author, from their name or email, with a random suffix when it is taken. */
  async forNewAuthor(name: string | undefined, email: string): Promise<string> {
    const base = slugify(name ?? '') || slugify(email.split('@')[0]) || 'author';
    if (!(await this.authors.slugExists(base))) return base;
    return this.withSuffix(base);
  }

  withSuffix(base: string): string {
    return `${base}-${randomBytes(3).toString('hex')}`;
  }
}
