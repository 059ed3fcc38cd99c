import { randomBytes } from 'node:crypto';
import { redactSecrets, redactUrl } from './redact';

describe('redactUrl', () => {
  it.each([
    ['/sse/notifications?ticket=abc123', '/sse/notifications?ticket=[REDACTED]'],
    [
      '/oauth/github/callback?code=c0de&state=s7',
      '/oauth/github/callback?code=[REDACTED]&state=[REDACTED]',
    ],
    ['/x?page=2&TOKEN=secret#frag', '/x?page=2&TOKEN=[REDACTED]#frag'],
    [
      '/auth/login?email=a@b.test&password=hunter2',
      '/auth/login?email=a@b.test&password=[REDACTED]',
    ],
    ['/x?passwd=p&pwd=q', '/x?passwd=[REDACTED]&pwd=[REDACTED]'],
    ['/x?secret=s&client_secret=c', '/x?secret=[REDACTED]&client_secret=[REDACTED]'],
    ['/x?api_key=k&apikey=l&key=m', '/x?api_key=[REDACTED]&apikey=[REDACTED]&key=[REDACTED]'],
    [
      '/x?access_token=a&refresh_token=r&id_token=i',
      '/x?access_token=[REDACTED]&refresh_token=[REDACTED]&id_token=[REDACTED]',
    ],
    ['/reset-password?token=', '/reset-password?token=[REDACTED]'],
  ])('keeps credentials in %s out of the log', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it('leaves other query parameters and paths alone', () => {
    expect(redactUrl('/shouts?first=10&after=abc')).toBe('/shouts?first=10&after=abc');
    expect(redactUrl('/auth/password/reset')).toBe('/auth/password/reset');
    expect(redactUrl('/x?passwords_count=2&monkey_business=1')).toBe(
      '/x?passwords_count=2&monkey_business=1',
    );
    expect(redactUrl(undefined)).toBeUndefined();
  });
});

describe('redactSecrets', () => {
  const token = randomBytes(32).toString('base64url');

  it('redacts the token of a link in a mail, and keeps the rest readable', () => {
    const text = `Open this link within an hour:\n\nhttps://app.example.test/reset-password?token=${token}\n\nIf it was not you, ignore this message.`;
    expect(redactSecrets(text)).toBe(
      'Open this link within an hour:\n\nhttps://app.example.test/reset-password?token=[REDACTED]\n\nIf it was not you, ignore this message.',
    );
  });

  it('redacts a token standing alone, and one behind another credential parameter', () => {
    expect(redactSecrets(`Your code: ${token}.`)).toBe('Your code: [REDACTED].');
    expect(redactSecrets(`https://x.test/cb?state=abc&code=123456 done`)).toBe(
      'https://x.test/cb?state=[REDACTED]&code=[REDACTED] done',
    );
    expect(redactSecrets(`hex ${randomBytes(16).toString('hex')}`)).toBe('hex [REDACTED]');
  });

  it('leaves words, numbers, addresses and paths alone', () => {
    const text =
      'Confirm your email address for Tessera: https://app.example.test/verify-email (author 12345, reader-0a1b2c3d4e@example.test)';
    expect(redactSecrets(text)).toBe(text);
  });
});
