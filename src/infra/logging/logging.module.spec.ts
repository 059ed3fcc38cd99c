import { redactUrl } from './logging.module';

describe('redactUrl', () => {
  it.each([
    ['/sse/notifications?ticket=abc123', '/sse/notifications?ticket=[REDACTED]'],
    [
      '/oauth/github/callback?code=c0de&state=s7',
      '/oauth/github/callback?code=[REDACTED]&state=[REDACTED]',
    ],
    ['/x?page=2&TOKEN=secret#frag', '/x?page=2&TOKEN=[REDACTED]#frag'],
  ])('keeps credentials in %s out of the log', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it('leaves other query parameters alone', () => {
    expect(redactUrl('/shouts?first=10&after=abc')).toBe('/shouts?first=10&after=abc');
  });
});
