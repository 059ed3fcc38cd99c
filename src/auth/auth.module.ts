import { Module } from '@nestjs/common';
import { PasswordService } from './password.service';

/** Email and password accounts (issue #4 grows this module). */
@Module({ providers: [PasswordService], exports: [PasswordService] })
export class AuthModule {}
