import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { OAUTH_PROVIDERS } from '../config/environment.schema';

/** OAuth provider names as they appear in routes: the configured providers, in lower case. */
const PROVIDER_NAMES: readonly string[] = [
  ...OAUTH_PROVIDERS.map((provider) => provider.toLowerCase()),
  'telegram',
];

@Injectable()
export class ProviderPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    const name = value.toLowerCase();
    if (!PROVIDER_NAMES.includes(name)) {
      throw new BadRequestException(
        `Unknown provider; expected one of ${PROVIDER_NAMES.join(', ')}`,
      );
    }
    return name;
  }
}
