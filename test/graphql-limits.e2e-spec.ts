import { MAX_JSON_DEPTH } from '../src/infra/http/json-body.middleware';
import { MAX_DOCUMENT_NESTING, MAX_FRAGMENTS } from '../src/graphql/input-limits';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Documents nested `levels` deep: a few thousand levels overflow graphql-js's recursive parser. A
 * GET request carries fewer (Node refuses a request head over 16 kB).
 */
const HOSTILE_DOCUMENTS: [what: string, nested: (levels: number) => string][] = [
  ['selection sets', (n) => `{${'shouts{nodes{'.repeat(n / 2)}id${'}}'.repeat(n / 2)}}`],
  ['a list literal', (n) => `{author(slug:${'['.repeat(n)}"x"${']'.repeat(n)}){id}}`],
  ['an object literal', (n) => `{author(slug:${'{a:'.repeat(n)}1${'}'.repeat(n)}){id}}`],
];

/** A chain of `links` fragments, each spreading the next. */
function fragmentChain(links: number): string {
  let query = 'query { ...F0 }';
  for (let i = 0; i < links; i += 1) query += ` fragment F${i} on Query { ...F${i + 1} }`;
  return `${query} fragment F${links} on Query { shouts { nodes { id } } }`;
}

/** GraphQL depth and complexity limits (docs/DEVELOPMENT.md, GraphQL limits), with small limits to show both sides. */
describe('GraphQL query limits', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ GRAPHQL_MAX_DEPTH: '3', GRAPHQL_MAX_COMPLEXITY: '200' });
  });
  afterAll(() => t.close());

  const graphql = (query: string, variables?: Record<string, unknown>) =>
    t.http().post('/graphql').send({ query, variables });

  it('runs a query within both limits', async () => {
    const res = await graphql('{ shouts(first: 10) { nodes { id title } } }').expect(200);
    expect(res.body).toEqual({ data: { shouts: { nodes: [] } } });
  });

  it('refuses a query nested deeper than GRAPHQL_MAX_DEPTH', async () => {
    // The schema nests at most two levels below a root field, so only a limit of 1 can show the
    // refusal end to end; the rule itself is specified in src/graphql/query-limits.spec.ts.
    const shallow = await startTestApp({ GRAPHQL_MAX_DEPTH: '1' });
    try {
      const res = await shallow
        .http()
        .post('/graphql')
        .send({ query: '{ author(slug: "nobody") { id name } }' });
      expect(res.body.errors[0].extensions.code).toBe('NOT_FOUND');
      const deep = await shallow
        .http()
        .post('/graphql')
        .send({ query: '{ shouts { nodes { id } } }' });
      expect(deep.status).toBe(400);
      expect(deep.body.errors[0]).toMatchObject({
        message: expect.stringMatching(/exceeds maximum operation depth of 1/),
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      });
    } finally {
      await shallow.close();
    }
  });

  it('refuses a query whose page sizes make it too costly, also through variables', async () => {
    const inline = await graphql('{ shouts(first: 100) { nodes { id title body } } }');
    expect(inline.status).toBe(400);
    expect(inline.body.errors[0]).toMatchObject({
      message: 'Query is too complex: 401, the maximum is 200',
      extensions: { code: 'QUERY_TOO_COMPLEX' },
    });
    expect(inline.body.data).toBeUndefined();

    const viaVariables = await graphql(
      'query Shouts($first: Int) { shouts(first: $first) { nodes { id title body } } }',
      { first: 100 },
    );
    expect(viaVariables.body.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  describe('documents and variables the parser or validation cannot take', () => {
    const get = (params: Record<string, string>) =>
      t.http().get('/graphql').set('apollo-require-preflight', 'true').query(params);

    afterEach(async () => {
      await t.http().get('/health').expect(200);
    });

    it.each(HOSTILE_DOCUMENTS)(
      'refuses %s nested thousands deep, by POST and GET',
      async (_, nested) => {
        const posted = await graphql(nested(5000));
        const got = await get({ query: nested(1000) });
        for (const res of [posted, got]) {
          expect(res.status).toBe(400);
          expect(res.body).toEqual({
            errors: [
              {
                message: `Document is nested deeper than ${MAX_DOCUMENT_NESTING} levels`,
                locations: [expect.any(Object)],
                extensions: { code: 'GRAPHQL_PARSE_FAILED' },
              },
            ],
          });
        }
      },
    );

    it('refuses deeply nested variables, in the body and in the query string', async () => {
      const query = 'query($s: String) { author(slug: $s) { id } }';
      const deep = '['.repeat(2000) + ']'.repeat(2000);
      const posted = await t
        .http()
        .post('/graphql')
        .set('Content-Type', 'application/json')
        .send(`{"query":${JSON.stringify(query)},"variables":{"s":${deep}}}`);
      expect(posted.status).toBe(400);
      expect(posted.body.message).toBe(
        `Request body is nested deeper than ${MAX_JSON_DEPTH} levels`,
      );
      const got = await get({ query, variables: `{"s":${deep}}` });
      expect(got.status).toBe(400);
      expect(got.body.errors).toEqual([
        {
          message: `Variables are nested deeper than ${MAX_JSON_DEPTH} levels`,
          extensions: { code: 'BAD_USER_INPUT' },
        },
      ]);
    });

    it('answers a fragment cycle with the validation error, not a 500', async () => {
      const res = await graphql(
        'query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }',
      );
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([
        expect.objectContaining({
          message: 'Cannot spread fragment "A" within itself via "B".',
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        }),
      ]);
    });

    it('answers an unknown fragment with the validation error, not a 500', async () => {
      const res = await graphql('query { ...Missing }');
      expect(res.status).toBe(400);
      expect(res.body.errors[0]).toMatchObject({
        message: 'Unknown fragment "Missing".',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      });
    });

    it(`runs a chain of ${MAX_FRAGMENTS} fragments and refuses a longer one`, async () => {
      const within = await graphql(fragmentChain(MAX_FRAGMENTS - 1));
      expect(within.body).toEqual({ data: { shouts: { nodes: [] } } });
      const res = await graphql(fragmentChain(2000));
      expect(res.status).toBe(400);
      expect(res.body.errors[0]).toMatchObject({
        message: `Document defines more than ${MAX_FRAGMENTS} fragments`,
        extensions: { code: 'GRAPHQL_PARSE_FAILED' },
      });
    });
  });

  it('refuses a document of thousands of repeated fields before validating it', async () => {
    // Repeated identical fields merge, so the review's 84 kB of them is a valid operation.
    const fields = (n: number) => 'author(slug:"x"){id}'.repeat(n);
    const refused = await graphql(`{ ${fields(4000)} }`);
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toMatchObject({
      message: expect.stringContaining('tokens'),
      extensions: { code: 'GRAPHQL_PARSE_FAILED' },
    });
    // A large but real batch is still read and validated (each unknown slug is NOT_FOUND).
    const accepted = await graphql(`{ ${fields(100)} }`);
    expect(accepted.body.errors[0].extensions.code).toBe('NOT_FOUND');
  });

  it('suggests field names outside production', async () => {
    const res = await graphql('{ autor(slug: "x") { id } }');
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toBe(
      'Cannot query field "autor" on type "Query". Did you mean "author" or "authors"?',
    );
  });
});
