import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthModule } from '../auth/auth.module';
import { TokensModule } from '../tokens/tokens.module';
import { AccessGuard } from './access.guard';
import { AdminBootstrapService } from './admin-bootstrap.service';
import { AdminResolver } from './admin.resolver';
import { PermissionsService } from './permissions.service';
import { RoleManagementService } from './role-management.service';

/**
 * Roles and permissions (SPEC section 6): the access guard for every REST route and GraphQL
 * resolver, effective permissions with their cache, admin role management, the first admin.
 */
@Global()
@Module({
  imports: [AuthModule, TokensModule],
  providers: [
    { provide: APP_GUARD, useClass: AccessGuard },
    PermissionsService,
    RoleManagementService,
    AdminResolver,
    AdminBootstrapService,
  ],
  exports: [PermissionsService, AdminBootstrapService],
})
export class PermissionsModule {}
