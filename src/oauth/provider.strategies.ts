import { oauth2Strategy } from './oauth2.strategy';
import { OAUTH2_PROVIDER_DEFINITIONS } from './oauth-providers';

/** One Passport strategy per OAuth 2.0 provider, named as the provider. */
export class GoogleStrategy extends oauth2Strategy(OAUTH2_PROVIDER_DEFINITIONS.google) {}
export class GithubStrategy extends oauth2Strategy(OAUTH2_PROVIDER_DEFINITIONS.github) {}
export class FacebookStrategy extends oauth2Strategy(OAUTH2_PROVIDER_DEFINITIONS.facebook) {}
export class XStrategy extends oauth2Strategy(OAUTH2_PROVIDER_DEFINITIONS.x) {}
export class VkStrategy extends oauth2Strategy(OAUTH2_PROVIDER_DEFINITIONS.vk) {}
export class YandexStrategy extends oauth2Strategy(OAUTH2_PROVIDER_DEFINITIONS.yandex) {}

export const OAUTH2_STRATEGIES = {
  GOOGLE: GoogleStrategy,
  GITHUB: GithubStrategy,
  FACEBOOK: FacebookStrategy,
  X: XStrategy,
  VK: VkStrategy,
  YANDEX: YandexStrategy,
} as const;
