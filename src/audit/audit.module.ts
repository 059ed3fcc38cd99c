import { Module } from '@nestjs/common';
import { TokensModule } from '../tokens/tokens.module';
import { AuditService } from './audit.service';
import { SessionReuseAuditor } from './session-reuse.auditor';

@Module({
  imports: [TokensModule],
  providers: [AuditService, SessionReuseAuditor],
  exports: [AuditService],
})
export class AuditModule {}
