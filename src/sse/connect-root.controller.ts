import { Controller, type MessageEvent, Req, Sse, SseSignal } from '@nestjs/common';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { AuthenticatesItself } from '../permissions/access.decorator';
import { SseService } from './sse.service';

/** In the connect process the stream is also served at `/`, as on its own subdomain. */
@Controller()
export class ConnectRootController {
  constructor(private readonly sse: SseService) {}

  @Sse()
  @AuthenticatesItself('ticket|cookie|bearer')
  notifications(
    @Req() req: Request,
    @SseSignal() signal: AbortSignal,
  ): Promise<Observable<MessageEvent>> {
    return this.sse.connect(req, signal);
  }
}
