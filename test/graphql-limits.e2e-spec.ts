import { startTestApp, type TestApp } from './support/test-app';

/** GraphQL depth and complexity limits (SPEC section 4), with small limits to show both sides. */
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
});
