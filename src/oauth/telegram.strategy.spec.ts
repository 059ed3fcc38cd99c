import { createHash, createHmac } from 'node:crypto';
import { verifyTelegramLogin } from './telegram.strategy';

const BOT_TOKEN = '123456:telegram-test-token';
const NOW = 1_764_600_000;
const DAY = 86_400;

/** Signs widget fields the way Telegram documents (core.telegram.org/widgets/login). */
function signed(fields: Record<string, string>, token = BOT_TOKEN): Record<string, string> {
  const check = Object.keys(fields)
    .sort()
    .map((name) => `${name}=${fields[name]}`)
    .join('\n');
  const secret = createHash('sha256').update(token).digest();
  return { ...fields, hash: createHmac('sha256', secret).update(check).digest('hex') };
}

const login = (overrides: Record<string, string> = {}) =>
  signed({
    id: '42',
    first_name: 'Ada',
    username: 'ada',
    photo_url: 'https://t.me/i/userpic/ada.jpg',
    auth_date: String(NOW - 60),
    ...overrides,
  });

describe('verifyTelegramLogin', () => {
  it('accepts the fields Telegram signed, with our state beside them', () => {
    const result = verifyTelegramLogin({ ...login(), state: 'x'.repeat(43) }, BOT_TOKEN, DAY, NOW);
    expect(result).toEqual({
      ok: true,
      fields: expect.objectContaining({ id: '42', first_name: 'Ada', username: 'ada' }),
    });
  });

  it('refuses a hash made with another bot token, and any field changed after signing', () => {
    expect(verifyTelegramLogin(login(), '654321:other', DAY, NOW)).toEqual({
      ok: false,
      refusal: 'invalid_signature',
    });
    expect(verifyTelegramLogin({ ...login(), id: '43' }, BOT_TOKEN, DAY, NOW)).toEqual({
      ok: false,
      refusal: 'invalid_signature',
    });
    const hash = login().hash;
    expect(
      verifyTelegramLogin(
        { ...login(), hash: hash.replace(/^./, hash[0] === 'a' ? 'b' : 'a') },
        BOT_TOKEN,
        DAY,
        NOW,
      ),
    ).toMatchObject({ ok: false, refusal: 'invalid_signature' });
  });

  it('refuses fields Telegram does not sign, a missing or malformed hash, and a missing id', () => {
    const cases: Record<string, unknown>[] = [
      { ...login(), admin: 'true' },
      { ...login(), hash: undefined },
      { ...login(), hash: 'zz' },
      { ...login(), id: ['1', '2'] },
      signed({ first_name: 'Ada', auth_date: String(NOW) }),
    ];
    for (const query of cases) {
      expect(verifyTelegramLogin(query, BOT_TOKEN, DAY, NOW)).toEqual({
        ok: false,
        refusal: 'invalid_fields',
      });
    }
  });

  it('refuses an auth_date older than the configured age, or from the future', () => {
    expect(
      verifyTelegramLogin(login({ auth_date: String(NOW - DAY - 1) }), BOT_TOKEN, DAY, NOW),
    ).toEqual({
      ok: false,
      refusal: 'stale_auth_date',
    });
    expect(
      verifyTelegramLogin(login({ auth_date: String(NOW - 120) }), BOT_TOKEN, 60, NOW),
    ).toMatchObject({
      refusal: 'stale_auth_date',
    });
    expect(
      verifyTelegramLogin(login({ auth_date: String(NOW + 3600) }), BOT_TOKEN, DAY, NOW),
    ).toMatchObject({
      refusal: 'stale_auth_date',
    });
    expect(
      verifyTelegramLogin(login({ auth_date: String(NOW - DAY) }), BOT_TOKEN, DAY, NOW).ok,
    ).toBe(true);
  });
});
