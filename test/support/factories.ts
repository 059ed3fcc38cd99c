import { randomBytes } from 'node:crypto';
import type { NewAuthor } from '../../src/infra/database/tables/author.repository';

function unique(): string {
  return randomBytes(5).toString('hex');
}

/** Attributes of an author no other test uses. */
export function newAuthor(overrides: Partial<NewAuthor> = {}): NewAuthor {
  const id = unique();
  return {
    email: `author-${id}@example.test`,
    slug: `author-${id}`,
    name: `Author ${id}`,
    ...overrides,
  };
}
