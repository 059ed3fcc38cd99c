import { Module } from '@nestjs/common';
import { BatchTokenOperations } from './batch-token.service';
import { JwtCodec } from './jwt-codec.service';
import { OAuthTokenManager } from './oauth-token.service';
import { SessionTokenManager } from './session-token.service';
import { TokenMonitoring } from './token-monitoring.service';
import { VerificationTokenManager } from './verification-token.service';

const SERVICES = [
  JwtCodec,
  SessionTokenManager,
  VerificationTokenManager,
  OAuthTokenManager,
  BatchTokenOperations,
  TokenMonitoring,
];

/** Sessions, verification and provider tokens, and the JWT codec they share (README, "Tokens"). */
@Module({ providers: SERVICES, exports: SERVICES })
export class TokensModule {}
