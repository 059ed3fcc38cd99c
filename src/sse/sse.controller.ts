import {
  Body,
  Controller,
  HttpCode,
  type MessageEvent,
  Post,
  Req,
  Sse,
  SseSignal,
} from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import type { AuthContext } from '../permissions/auth-context';
import { Client, type ClientInfo } from '../infra/http/client-info.decorator';
import { NoBodyPipe } from '../infra/http/no-body.pipe';
import { AuthenticatesItself, AuthRequired, CurrentAuth } from '../permissions/access.decorator';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { SseService } from './sse.service';

export class TicketDto {
  @ApiProperty({
    description: 'single use; pass as ?ticket= to the stream, or in a WebSocket connection_init',
  })
  ticket: string;
  @ApiProperty({ description: 'seconds' }) expires_in: number;
}

@ApiTags('sse')
@Controller('sse')
export class SseController {
  constructor(private readonly sse: SseService) {}

  @Post('ticket')
  @AuthRequired()
  @HttpCode(200)
  @RateLimit('ticketSession')
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiOkResponse({ type: TicketDto, description: 'a one-time ticket bound to this session and IP' })
  async ticket(
    @Body(NoBodyPipe) _body: undefined,
    @CurrentAuth() auth: AuthContext,
    @Client() client: ClientInfo,
  ): Promise<TicketDto> {
    const { ticket, expiresIn } = await this.sse.issueTicket(auth, client);
    return { ticket, expires_in: expiresIn };
  }

  @Sse('notifications')
  @AuthenticatesItself('ticket|cookie|bearer')
  @ApiOkResponse({ description: 'text/event-stream of the caller’s notifications' })
  notifications(
    @Req() req: Request,
    @SseSignal() signal: AbortSignal,
  ): Promise<Observable<MessageEvent>> {
    return this.sse.connect(req, signal);
  }
}
