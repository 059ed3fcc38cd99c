import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import type { Author } from '../infra/database/tables/author.entity';
import { normalizeEmail } from '../auth/email-address';
import { PasswordService } from '../auth/password.service';
import { SlugService } from '../auth/slug.service';
import { AppConfig } from '../config/app-config';
import { ADMIN_ROLE } from '../infra/database/tables/active-admins.lock';
import { AuthorRoleRepository } from '../infra/database/tables/author-role.repository';
import { AuthorRepository } from '../infra/database/tables/author.repository';
import { PermissionsService } from '../permissions/permissions.service';

export interface AdminSetup {
  author: Author;
  /** A new account was made (else an existing one was promoted or already admin). */
  created: boolean;
  /** The admin role was granted now (false when the author already had it). */
  granted: boolean;
}

/**
 * The first admin: from ADMIN_EMAIL/ADMIN_PASSWORD at every start, or from the CLI. Idempotent: an
 * existing account keeps its password and only gains the admin role if it lacks it.
 */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrapService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly authors: AuthorRepository,
    private readonly authorRoles: AuthorRoleRepository,
    private readonly passwords: PasswordService,
    private readonly slugs: SlugService,
    private readonly permissions: PermissionsService,
    private readonly audit: AuditService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { email, password } = this.config.admin;
    if (!email || !password) return;
    const setup = await this.ensureAdmin(normalizeEmail(email), password);
    if (setup.created || setup.granted) {
      this.logger.log(`Admin ${setup.author.email} (author ${setup.author.id}) is set up`);
    }
  }

  /** `email` is normalized (src/auth/email-address.ts), as the account is stored and found by it. */
  async ensureAdmin(email: string, password: string): Promise<AdminSetup> {
    let author = await this.authors.findByEmail(email);
    let created = false;
    if (!author) {
      author = await this.authors.create(
        {
          email,
          slug: await this.slugs.forNewAuthor(undefined, email),
          passwordHash: await this.passwords.hash(password),
        },
        'user',
      );
      // Whoever sets the admin up through configuration or the CLI controls that address.
      await this.authors.markEmailVerified(author.id);
      await this.audit.record('register', { authorId: author.id, data: { via: 'admin_setup' } });
      created = true;
    }
    const granted = await this.authorRoles.grant(author.id, ADMIN_ROLE, null);
    if (granted) {
      await this.permissions.invalidate(author.id);
      await this.audit.record('role_granted', {
        authorId: author.id,
        data: { role: ADMIN_ROLE, by: 'admin_setup' },
      });
    }
    return { author, created, granted };
  }
}
