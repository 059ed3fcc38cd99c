import { BadRequestException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import type { Request, Response } from 'express';
import passport from 'passport';
import { AuthorizationError, InternalOAuthError, TokenError } from 'passport-oauth2';
import { SessionCookieService } from '../auth/session-cookie.service';
import { AppConfig } from '../config/app-config';
import { clientInfoOf } from '../infra/http/client-info.decorator';
import { OAuthFailure, type OAuthErrorCode } from './oauth-failure.error';
import { OAuthStats } from './oauth-stats.service';
import type { ProviderName } from './oauth-provider';
import { OAuthSignInService } from './oauth-sign-in.service';
import { type OAuthFlow, OAuthStateStore } from './oauth-state.store';
import { type ProviderUser, ProfileWithoutIdError } from './oauth2.strategy';
import { PROVIDER_TIMEOUT_MS, ProviderApiError } from './provider-api.service';

/** The strategies of the enabled providers, each a passport strategy with its provider's name. */
export const OAUTH_STRATEGIES = Symbol('OAUTH_STRATEGIES');
export type EnabledStrategy = passport.Strategy & { readonly provider: ProviderName };

export interface StartQuery {
  state?: string;
  redirectUri?: string;
  link?: boolean;
}

/** Token exchange, profile reads and the sign-in together; past it a callback fails as a timeout. */
const CALLBACK_DEADLINE_MS = 2 * PROVIDER_TIMEOUT_MS + 5_000;
const MAX_REDIRECT_URI = 2048;

type Outcome = { error?: unknown; user?: ProviderUser | false; info?: { message?: string } };

/**
 * The two halves of a sign-in with a provider (README, "Signing in with a provider"): the start,
 * which checks where the client wants to land and hands over to the provider's strategy, and the
 * callback, which lets the strategy check the state and exchange the code, then signs in and sends
 * the browser back, with `error=<code>` when anything failed.
 */
@Injectable()
export class OAuthFlowService {
  private readonly logger = new Logger(OAuthFlowService.name);
  /** Our own Passport instance: several apps in one process must not share registrations. */
  private readonly passport = new passport.Passport();
  private readonly enabled: ProviderName[];
  private readonly allowedOrigins: ReadonlySet<string>;

  constructor(
    @Inject(OAUTH_STRATEGIES) strategies: EnabledStrategy[],
    private readonly config: AppConfig,
    private readonly states: OAuthStateStore,
    private readonly signIn: OAuthSignInService,
    private readonly cookies: SessionCookieService,
    private readonly stats: OAuthStats,
  ) {
    for (const strategy of strategies) this.passport.use(strategy.provider, strategy);
    this.enabled = strategies.map((strategy) => strategy.provider);
    this.allowedOrigins = new Set([new URL(config.frontendUrl).origin, ...config.corsOrigins]);
  }

  providers(): ProviderName[] {
    return [...this.enabled];
  }

  async start(req: Request, res: Response, provider: string, query: StartQuery): Promise<void> {
    const name = this.enabledProvider(provider);
    const redirectUri = this.allowedRedirect(query.redirectUri ?? `${this.config.frontendUrl}/`);
    const clientState = query.state ?? null;
    if (clientState !== null && clientState.length > 512) {
      throw new BadRequestException('state must be at most 512 characters');
    }
    if (query.link && !req.auth) {
      return redirectWithError(res, redirectUri, 'login_required', clientState);
    }
    const flow: Omit<OAuthFlow, 'verifier' | 'binding'> = {
      provider: name,
      clientState,
      redirectUri,
      linkAuthorId: query.link ? req.auth!.author.id : null,
    };
    const outcome = await this.authenticate(req, res, name, { state: flow });
    if (!res.headersSent) {
      this.logger.error(`${name}: the start did not redirect: ${describe(outcome.error)}`);
      redirectWithError(res, redirectUri, 'server_error', clientState);
    }
  }

  async callback(req: Request, res: Response, provider: string): Promise<void> {
    const name = this.enabledProvider(provider);
    const client = clientInfoOf(req);
    const outcome = await this.exchange(req, res, name);
    // Telegram's relay page was sent instead: the browser comes back with the fields.
    if (res.headersSent) return;
    this.states.clearCookie(res);
    const flow = req.oauthFlow;
    try {
      if (outcome.error !== undefined) throw outcome.error;
      if (!outcome.user) throw new OAuthFailure(refusalCode(outcome.info?.message));
      const result = await this.signIn.complete(outcome.user, flow!, client);
      await this.stats.signedIn(name);
      if (result.kind === 'session') this.cookies.set(res, result.token);
      const target = new URL(flow!.redirectUri);
      if (flow!.clientState !== null) target.searchParams.set('state', flow!.clientState);
      if (result.kind === 'linked') target.searchParams.set('linked', name);
      res.redirect(302, target.href);
    } catch (error) {
      const code = codeOf(error);
      if (code === 'server_error') this.logger.error(`${name} callback: ${describe(error)}`);
      await this.stats.failed(name, code);
      await this.signIn.recordFailure(name, code, client).catch(() => undefined);
      if (!flow) throw new BadRequestException(`Sign-in with ${name} failed: ${code}`);
      redirectWithError(res, flow.redirectUri, code, flow.clientState);
    }
  }

  /** The callback's strategy run, bounded in time; a provider error before the state is read still finds its flow. */
  private async exchange(req: Request, res: Response, name: ProviderName): Promise<Outcome> {
    // Without a code (or Telegram's fields) passport-oauth2 would start a new flow from here.
    const incomplete = name !== 'telegram' && typeof req.query.code !== 'string';
    if (req.query.error !== undefined || incomplete) {
      await new Promise<void>((resolve) =>
        this.states.verify(req, req.query.state, () => resolve()),
      );
      if (req.query.error === undefined) return { error: new OAuthFailure('invalid_request') };
      const denied = req.query.error === 'access_denied';
      return { error: new OAuthFailure(denied ? 'access_denied' : 'provider_error') };
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<Outcome>((resolve) => {
      timer = setTimeout(
        () => resolve({ error: new OAuthFailure('provider_timeout') }),
        CALLBACK_DEADLINE_MS,
      );
    });
    try {
      return await Promise.race([this.authenticate(req, res, name, {}), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a strategy; settles with its outcome, or when it redirected the response itself. */
  private authenticate(
    req: Request,
    res: Response,
    name: ProviderName,
    options: { state?: object },
  ): Promise<Outcome> {
    const callbackURL = `${this.callbackBase(req)}/oauth/${name}/callback`;
    return new Promise<Outcome>((resolve) => {
      res.once('finish', () => resolve({}));
      // passport-oauth2 reads `callbackURL` and the flow in `state` from these options.
      const strategyOptions = { session: false, callbackURL, ...options };
      const middleware = this.passport.authenticate(
        name,
        strategyOptions as passport.AuthenticateOptions,
        (error: unknown, user: ProviderUser | false, info: { message?: string }) =>
          resolve({ error: error ?? undefined, user, info }),
      ) as (req: Request, res: Response, next: (error?: unknown) => void) => void;
      middleware(req, res, (error) => resolve({ error }));
    });
  }

  private callbackBase(req: Request): string {
    return this.config.oauth.callbackBaseUrl ?? `${req.protocol}://${req.get('host')}`;
  }

  private enabledProvider(provider: string): ProviderName {
    const name = provider.toLowerCase() as ProviderName;
    if (!this.enabled.includes(name)) {
      throw new NotFoundException(`Unknown or disabled provider: ${provider}`);
    }
    return name;
  }

  /**
   * Only an http(s) URL on the frontend's origin or one of CORS_ORIGINS, compared as parsed
   * origins (so `app.example.com.evil.test` or `app.example.com@evil.test` are other origins), and
   * without credentials in it.
   */
  private allowedRedirect(raw: string): string {
    let url: URL;
    try {
      if (raw.length > MAX_REDIRECT_URI) throw new Error('too long');
      url = new URL(raw);
    } catch {
      throw new BadRequestException('redirect_uri must be an absolute URL');
    }
    if (
      !['http:', 'https:'].includes(url.protocol) ||
      url.username !== '' ||
      url.password !== '' ||
      !this.allowedOrigins.has(url.origin)
    ) {
      throw new BadRequestException('redirect_uri must be on an allowed origin');
    }
    url.hash = '';
    return url.href;
  }
}

function redirectWithError(
  res: Response,
  redirectUri: string,
  code: OAuthErrorCode,
  clientState: string | null,
): void {
  const target = new URL(redirectUri);
  target.searchParams.set('error', code);
  if (clientState !== null) target.searchParams.set('state', clientState);
  res.redirect(302, target.href);
}

/** What a strategy's refusal (`fail`) means for the client. */
function refusalCode(message: string | undefined): OAuthErrorCode {
  if (message === 'invalid_state') return 'invalid_state';
  if (message && ['invalid_signature', 'stale_auth_date', 'invalid_fields'].includes(message)) {
    return 'invalid_request';
  }
  return 'access_denied';
}

function codeOf(error: unknown): OAuthErrorCode {
  if (error instanceof OAuthFailure) return error.code;
  if (error instanceof ProfileWithoutIdError) return 'invalid_profile';
  if (error instanceof ProviderApiError)
    return error.timedOut ? 'provider_timeout' : 'provider_error';
  if (
    error instanceof TokenError ||
    error instanceof AuthorizationError ||
    error instanceof InternalOAuthError
  ) {
    return 'provider_error';
  }
  return 'server_error';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
