import { Module } from '@nestjs/common';
import { BatchTokenOperations } from './batch-token.service';
import { JwtCodec } from './jwt-codec.service';
import { OAuthTokenManager } from './oauth-token.service';
import { SessionTokenManager } from './session-token.service';
import { TokenMonitoring } from './token-monitoring.service';
import { TokenStorage } from './token-storage.service';
import { VerificationTokenManager } from './verification-token.service';

const SERVICES = [
  JwtCodec,
  SessionTokenManager,
  VerificationTokenManager,
  OAuthTokenManager,
  BatchTokenOperations,
  TokenMonitoring,
  TokenStorage,
];

@Module({ providers: SERVICES, exports: SERVICES })
export class TokensModule {}
