import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config';
import { LogSmsSender } from './sms.service';

describe('LogSmsSender', () => {
  const logged = async (env: AppConfig['env']): Promise<string> => {
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    try {
      await new LogSmsSender({ env } as AppConfig).send(
        '+15550001111',
        'Your Tessera code is 048213. It expires in 10 minutes.',
      );
      return log.mock.calls.map((call) => String(call[0])).join('\n');
    } finally {
      log.mockRestore();
    }
  };

  it('keeps the code outside production, where the log is the newcomer’s phone', async () => {
    expect(await logged('development')).toContain('048213');
  });

  it('never writes the code to a production log', async () => {
    const line = await logged('production');
    expect(line).not.toContain('048213');
    expect(line).toContain('+15550001111');
    expect(line).toContain('[REDACTED]');
  });
});
