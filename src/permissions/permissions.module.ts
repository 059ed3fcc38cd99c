import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { TokensModule } from '../tokens/tokens.module';
import { AccessModule } from './access.module';
import { AdminBootstrapService } from './admin-bootstrap.service';
import { AdminResolver } from './admin.resolver';
import { RoleManagementService } from './role-management.service';

/**
 * Roles and permissions (SPEC section 6): the access guard (AccessModule), admin role management
 * over GraphQL, and the first admin.
 */
@Module({
  imports: [AccessModule, AuthModule, TokensModule],
  providers: [RoleManagementService, AdminResolver, AdminBootstrapService],
  exports: [AdminBootstrapService],
})
export class PermissionsModule {}
