import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { httpContextOf } from './http-context';

/** The client's address (as Express sees it under TRUST_PROXY) and user agent, for sessions and the audit log. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

const MAX_USER_AGENT = 512;

export function clientInfoOf(req: Request): ClientInfo {
  const userAgent = req.get('user-agent');
  return {
    ip: req.ip ?? null,
    userAgent: userAgent ? userAgent.slice(0, MAX_USER_AGENT) : null,
  };
}

export const Client = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  clientInfoOf(httpContextOf(context).req),
);
