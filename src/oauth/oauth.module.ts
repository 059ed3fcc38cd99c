import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { AuditModule } from '../audit/audit.module';
import { AuthCoreModule } from '../auth/auth-core.module';
import { AuthModule } from '../auth/auth.module';
import { AppConfig } from '../config/app-config';
import { MetricsModule } from '../metrics/metrics.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { TokensModule } from '../tokens/tokens.module';
import { OAUTH_STRATEGIES, OAuthFlowService } from './oauth-flow.service';
import { OAuthStats } from './oauth-stats.service';
import { OAuthSignInService } from './oauth-sign-in.service';
import { OAuthStateStore } from './oauth-state.store';
import { OAuthController } from './oauth.controller';
import { ProviderApi } from './provider-api.service';
import { OAUTH2_STRATEGIES } from './provider.strategies';
import { TelegramStrategy } from './telegram.strategy';

/** Telegram's own sign-in page; TELEGRAM_AUTHORIZATION_URL overrides it (tests, proxies). */
const TELEGRAM_AUTH_URL = 'https://oauth.telegram.org/auth';

/** The strategies of the providers whose credentials are set (README, "Signing in with a provider"). */
function enabledStrategies(config: AppConfig, states: OAuthStateStore, api: ProviderApi) {
  const strategies: (
    InstanceType<(typeof OAUTH2_STRATEGIES)[keyof typeof OAUTH2_STRATEGIES]> | TelegramStrategy
  )[] = [];
  for (const [key, Strategy] of Object.entries(OAUTH2_STRATEGIES)) {
    const settings = config.oauth.providers[key as keyof typeof OAUTH2_STRATEGIES];
    if (settings) strategies.push(new Strategy(settings, states, api.fetchJson));
  }
  const { telegramBotToken } = config.oauth;
  if (telegramBotToken) {
    strategies.push(
      new TelegramStrategy(
        {
          botToken: telegramBotToken,
          maxAgeS: config.oauth.telegramMaxAgeS,
          authorizationUrl: config.oauth.telegramAuthorizationUrl ?? TELEGRAM_AUTH_URL,
        },
        states,
      ),
    );
  }
  return strategies;
}

/** Sign-in with Google, GitHub, Facebook, X, Telegram, VK and Yandex: /oauth/*. */
@Module({
  imports: [
    PassportModule,
    AuditModule,
    AuthCoreModule,
    AuthModule,
    MetricsModule,
    RateLimitModule,
    TokensModule,
  ],
  controllers: [OAuthController],
  exports: [OAuthStats],
  providers: [
    OAuthStateStore,
    ProviderApi,
    OAuthStats,
    OAuthSignInService,
    OAuthFlowService,
    {
      provide: OAUTH_STRATEGIES,
      inject: [AppConfig, OAuthStateStore, ProviderApi],
      useFactory: enabledStrategies,
    },
  ],
})
export class OAuthModule {}
