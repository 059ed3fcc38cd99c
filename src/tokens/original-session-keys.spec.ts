import { parseOriginalKey } from './original-session-keys';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjo0Mn0.c2lnbmF0dXJl-_x';

describe('parseOriginalKey', () => {
  it('reads the current layout', () => {
    expect(parseOriginalKey(`session:42:${TOKEN}`)).toEqual({
      key: `session:42:${TOKEN}`,
      layout: 'current',
      userId: 42,
      token: TOKEN,
    });
  });

  it('reads the older layout, with a username that has dashes of its own', () => {
    expect(parseOriginalKey(`42-ada-lovelace-${TOKEN}`)).toMatchObject({
      layout: 'older',
      userId: 42,
      username: 'ada-lovelace',
      token: TOKEN,
    });
  });

  it.each([
    ['a session of this service', 'session:42:6f1c0e9a-3b7d-4f2e-9c1a-0d8e7f6a5b4c'],
    ['a key with no token', '42-ada-'],
    ['a token that is not a JWT', 'session:42:eyJnot-a-jwt'],
    ['a user id that is not a number', `session:abc:${TOKEN}`],
  ])('returns null for %s', (_case, key) => {
    expect(parseOriginalKey(key)).toBeNull();
  });
});
