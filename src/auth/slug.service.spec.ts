import { slugify } from './slug.service';

describe('slugify', () => {
  it.each([
    ['Ada Lovelace', 'ada-lovelace'],
    ['  Grace   Hopper  ', 'grace-hopper'],
    ['Émile Zola', 'emile-zola'],
    ['ann.o_nymous+tag', 'ann-o-nymous-tag'],
    ['---', ''],
    ['Фёдор', ''],
    ['x'.repeat(60), 'x'.repeat(40)],
    [`${'a'.repeat(39)} b`, 'a'.repeat(39)],
  ])('%j → %j', (input, expected) => {
    expect(slugify(input)).toBe(expected);
  });
});
