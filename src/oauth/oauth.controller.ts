import { Controller, Get, Header, Param, Query, Req, Res } from '@nestjs/common';
import { ApiFoundResponse, ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString } from 'class-validator';
import type { Request, Response } from 'express';
import { Public } from '../permissions/access.decorator';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { OAuthFlowService } from './oauth-flow.service';
import { TELEGRAM_RELAY_SCRIPT } from './telegram.strategy';

export class ProvidersDto {
  @ApiProperty({ example: ['github', 'google'] }) providers: string[];
}

export class OAuthStartQuery {
  @ApiProperty({ required: false, description: 'returned unchanged on the redirect back' })
  @IsOptional()
  @IsString()
  state?: string;

  @ApiProperty({ required: false, description: 'where to land; on FRONTEND_URL or CORS_ORIGINS' })
  @IsOptional()
  @IsString()
  redirect_uri?: string;

  @ApiProperty({ required: false, description: 'link the provider to the signed-in account' })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'link must be true or false' })
  link?: boolean;
}

@ApiTags('oauth')
@Controller('oauth')
@Public()
export class OAuthController {
  constructor(private readonly flows: OAuthFlowService) {}

  @Get('providers')
  @ApiOkResponse({ type: ProvidersDto, description: 'the providers configured on this server' })
  providers(): ProvidersDto {
    return { providers: this.flows.providers() };
  }

  @Get('telegram/relay.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=3600')
  @ApiOkResponse({ description: "moves Telegram's sign-in result from the fragment to the query" })
  telegramRelay(): string {
    return TELEGRAM_RELAY_SCRIPT;
  }

  @Get(':provider')
  @RateLimit('oauthStartIp')
  @ApiFoundResponse({ description: 'to the provider; 400 for a redirect_uri on another origin' })
  start(
    @Param('provider') provider: string,
    @Query() query: OAuthStartQuery,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    return this.flows.start(req, res, provider, {
      state: query.state,
      redirectUri: query.redirect_uri,
      link: query.link,
    });
  }

  @Get(':provider/callback')
  @ApiFoundResponse({
    description: 'to redirect_uri?state=…, or redirect_uri?error=<code>&state=…',
  })
  callback(
    @Param('provider') provider: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    return this.flows.callback(req, res, provider);
  }
}
