import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { OAuthModule } from '../oauth/oauth.module';
import { AccessModule } from '../permissions/access.module';
import { TokensModule } from '../tokens/tokens.module';
import { AdminBootstrapService } from './admin-bootstrap.service';
import { AdminResolver } from './admin.resolver';
import { RoleManagementService } from './role-management.service';

/**
 * What admins do to other authors (README, "Roles and permissions"): roles, bans, revoking
 * sessions, reading the audit log over GraphQL; and the first admin (`npm run cli -- create-admin`).
 */
@Module({
  imports: [AccessModule, AuditModule, AuthModule, OAuthModule, TokensModule],
  providers: [RoleManagementService, AdminResolver, AdminBootstrapService],
  exports: [AdminBootstrapService],
})
export class AdminModule {}
