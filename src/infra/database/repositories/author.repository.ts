import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Author } from '../../../auth/author.entity';
import { nowSeconds } from '../epoch-seconds.transformer';

export interface NewAuthor {
  email: string;
  slug: string;
  name?: string | null;
  passwordHash?: string | null;
}

@Injectable()
export class AuthorRepository {
  constructor(@InjectRepository(Author) private readonly authors: Repository<Author>) {}

  async create(input: NewAuthor): Promise<Author> {
    const now = nowSeconds();
    const author = this.authors.create({
      email: input.email,
      slug: input.slug,
      name: input.name ?? null,
      passwordHash: input.passwordHash ?? null,
      createdAt: now,
      updatedAt: now,
    });
    const saved = await this.authors.save(author);
    delete saved.passwordHash;
    return saved;
  }

  findById(id: number): Promise<Author | null> {
    return this.authors.findOneBy({ id });
  }

  findByEmail(email: string): Promise<Author | null> {
    return this.authors
      .createQueryBuilder('author')
      .where('lower(author.email) = lower(:email)', { email })
      .getOne();
  }
}
