import { Module } from '@nestjs/common';
import { JwksController } from './jwks.controller';
import { TokensModule } from './tokens.module';

/** GET /.well-known/jwks.json, apart from TokensModule so that the connect process does not serve it. */
@Module({ imports: [TokensModule], controllers: [JwksController] })
export class JwksModule {}
