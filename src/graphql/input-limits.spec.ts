import type { Request } from 'express';
import { MAX_JSON_DEPTH } from '../infra/http/json-body.middleware';
import {
  documentRefusal,
  inputRefusal,
  MAX_DOCUMENT_NESTING,
  MAX_FRAGMENTS,
  variablesRefusal,
} from './input-limits';

/** `{ a { a … { b } } }` with `levels` braces. */
const nestedSelections = (levels: number) =>
  '{ a '.repeat(levels - 1) + '{ b }' + ' }'.repeat(levels - 1);

const refusalOf = (document: string) => {
  const error = documentRefusal(document);
  return error && { message: error.message, code: error.extensions.code, at: error.locations };
};

describe('documentRefusal', () => {
  it(`lets ${MAX_DOCUMENT_NESTING} levels of nesting through and refuses one more`, () => {
    expect(documentRefusal(nestedSelections(MAX_DOCUMENT_NESTING))).toBeUndefined();
    expect(refusalOf(nestedSelections(MAX_DOCUMENT_NESTING + 1))).toEqual({
      message: `Document is nested deeper than ${MAX_DOCUMENT_NESTING} levels`,
      code: 'GRAPHQL_PARSE_FAILED',
      at: [{ line: 1, column: 4 * MAX_DOCUMENT_NESTING + 1 }],
    });
  });

  it('counts list and object literals and parentheses as nesting, and reads far past the limit', () => {
    const list = `{ a(b: ${'['.repeat(20_000)}1${']'.repeat(20_000)}) }`;
    const object = `{ a(b: ${'{c: '.repeat(20_000)}1${'}'.repeat(20_000)}) }`;
    for (const document of [list, object]) {
      expect(refusalOf(document)?.message).toBe(
        `Document is nested deeper than ${MAX_DOCUMENT_NESTING} levels`,
      );
    }
  });

  it('does not count braces inside strings and comments', () => {
    const document = `{ a(b: "${'{'.repeat(500)}", c: """${'['.repeat(500)}""") # ${'('.repeat(500)}\n}`;
    expect(documentRefusal(document)).toBeUndefined();
  });

  it(`lets ${MAX_FRAGMENTS} fragments through and refuses one more`, () => {
    const withFragments = (count: number) => {
      let document = 'query { ...F0 }';
      for (let i = 0; i < count; i += 1) {
        document += ` fragment F${i} on Query { ${i + 1 < count ? `...F${i + 1}` : 'me { id }'} }`;
      }
      return document;
    };
    expect(documentRefusal(withFragments(MAX_FRAGMENTS))).toBeUndefined();
    expect(refusalOf(withFragments(MAX_FRAGMENTS + 1))?.message).toBe(
      `Document defines more than ${MAX_FRAGMENTS} fragments`,
    );
    expect(documentRefusal('{ fragment: me { id } }')).toBeUndefined();
  });

  it('refuses a NUL character in a string value, escaped, raw or in a block string', () => {
    for (const literal of ['"a\\u0000"', '"a\u0000"', '"""a\u0000"""']) {
      expect(refusalOf(`{ author(slug: ${literal}) { id } }`)).toEqual({
        message: 'String values must not contain the NUL character (U+0000)',
        code: 'BAD_USER_INPUT',
        at: [{ line: 1, column: 16 }],
      });
    }
    expect(documentRefusal('{ author(slug: "a\\\\u0000") { id } }')).toBeUndefined();
  });

  it('leaves syntax errors to the parser', () => {
    for (const document of ['{ a(b: "unterminated', '{ a } }', '\u0007', '{ ...']) {
      expect(documentRefusal(document)).toBeUndefined();
    }
  });
});

describe('variablesRefusal', () => {
  it('refuses nesting beyond the JSON body limit', () => {
    const deep = JSON.parse(
      '{"v":' + '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH) + '}',
    );
    expect(variablesRefusal(deep)?.message).toBe(
      `Variables are nested deeper than ${MAX_JSON_DEPTH} levels`,
    );
    expect(variablesRefusal(deep)?.extensions.code).toBe('BAD_USER_INPUT');
  });

  it('names the variable and the field that hold a NUL character', () => {
    expect(variablesRefusal({ slug: 'a\u0000' })?.message).toBe(
      'Variable "$slug" must not contain the NUL character (U+0000)',
    );
    expect(variablesRefusal({ input: { title: 'ok', tags: ['x', 'y\u0000'] } })?.message).toBe(
      'Variable "$input" must not contain the NUL character (U+0000) (at "input.tags[1]")',
    );
  });

  it('accepts ordinary variables', () => {
    expect(variablesRefusal({ input: { title: 'Hello', body: 'World' } })).toBeUndefined();
    expect(variablesRefusal(undefined)).toBeUndefined();
  });
});

describe('inputRefusal', () => {
  const get = (params: Record<string, string>) =>
    ({ method: 'GET', originalUrl: `/graphql?${new URLSearchParams(params)}` }) as Request;
  const post = (body: unknown) => ({ method: 'POST', body }) as Request;

  it('reads the document and variables of a GET request from the query string', () => {
    const query = 'query($s: String) { author(slug: $s) { id } }';
    expect(inputRefusal(get({ query, variables: '{"s":"ok"}' }))).toBeUndefined();
    expect(inputRefusal(get({ query, variables: '{"s":"a\\u0000"}' }))?.message).toMatch(/\$s/);
    expect(inputRefusal(get({ query: nestedSelections(MAX_DOCUMENT_NESTING + 1) }))).toBeDefined();
    expect(inputRefusal(get({ query, variables: 'not json' }))).toBeUndefined();
  });

  it('reads the document and variables of a POST body', () => {
    expect(inputRefusal(post({ query: '{ me { id } }' }))).toBeUndefined();
    expect(inputRefusal(post({ query: '{ a(b: "\u0000") }' }))?.extensions.code).toBe(
      'BAD_USER_INPUT',
    );
    expect(
      inputRefusal(post({ query: '{ me { id } }', variables: { s: '\u0000' } })),
    ).toBeDefined();
    expect(inputRefusal(post({ query: 42 }))).toBeUndefined();
    expect(inputRefusal(post(undefined))).toBeUndefined();
  });
});
