import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessGuard } from './access.guard';
import { PermissionsService } from './permissions.service';

/** The access guard on every REST route and GraphQL resolver, and the permissions it reads. */
@Module({
  providers: [{ provide: APP_GUARD, useClass: AccessGuard }, PermissionsService],
  exports: [PermissionsService],
})
export class AccessModule {}
