/**
 * Declares a suite that only makes sense on real services (several instances, a shared database),
 * or skips it with the reason printed when their URLs are unset. The reason goes straight to
 * stderr: Jest does not show the console output of a file whose tests all skip.
 */
export function describeWith(
  needs: Record<string, string | undefined>,
  title: string,
  suite: () => void,
): void {
  const missing = Object.keys(needs).filter((name) => !needs[name]);
  if (missing.length === 0) {
    describe(title, suite);
    return;
  }
  process.stderr.write(`${missing.join(' and ')} unset: skipping "${title}"\n`);
  describe.skip(`${title} (needs ${missing.join(', ')})`, () =>
    it('needs real services', () => undefined));
}
