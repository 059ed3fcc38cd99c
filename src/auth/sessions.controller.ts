import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AuthRequired, CurrentAuth } from '../permissions/access.decorator';
import { AccountSessionsService } from './account-sessions.service';
import type { AuthContext } from '../permissions/auth-context';
import { SessionDto } from './auth-response.dto';
import { Client, type ClientInfo } from '../infra/http/client-info.decorator';
import { NoBodyPipe } from '../infra/http/no-body.pipe';

@ApiTags('sessions')
@ApiCookieAuth()
@ApiBearerAuth()
@Controller('auth/sessions')
@AuthRequired()
export class SessionsController {
  constructor(private readonly sessions: AccountSessionsService) {}

  @Get()
  @ApiOkResponse({ type: [SessionDto] })
  async list(@CurrentAuth() auth: AuthContext): Promise<SessionDto[]> {
    return (await this.sessions.list(auth)).map((session) => SessionDto.of(session));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'the session is revoked' })
  @ApiNotFoundResponse({ description: 'no such session of the caller' })
  async revoke(
    @Body(NoBodyPipe) _body: undefined,
    @CurrentAuth() auth: AuthContext,
    @Param('id', new ParseUUIDPipe({ version: '4' })) id: string,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.sessions.revoke(auth, id, client);
  }

  @Delete()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'every session but the current one is revoked' })
  async revokeOthers(
    @Body(NoBodyPipe) _body: undefined,
    @CurrentAuth() auth: AuthContext,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.sessions.revokeOthers(auth, client);
  }
}
