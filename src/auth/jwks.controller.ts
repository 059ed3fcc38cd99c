import type { JsonWebKey } from 'node:crypto';
import { Controller, Get, Header } from '@nestjs/common';
import { JwtCodec } from '../tokens/jwt-codec.service';
import { Public } from '../permissions/access.decorator';

@Controller('.well-known')
@Public()
export class JwksController {
  constructor(private readonly codec: JwtCodec) {}

  /** Keys change only on a deploy, so verifiers may cache them briefly. */
  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  jwks(): { keys: JsonWebKey[] } {
    return this.codec.jwks();
  }
}
