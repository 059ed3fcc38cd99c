import { buildSchema, type GraphQLError } from 'graphql';
import { checkSocketOperation } from './socket-operation';

const schema = buildSchema(`
  type Node { id: ID, child: Node }
  type Query { root: Node }
  type Mutation { touch: Int }
  type Subscription { events(after: ID): Node }
`);

const check = (query: string, extra: { operationName?: string; variables?: unknown } = {}) =>
  checkSocketOperation(
    schema,
    { query, ...extra } as Parameters<typeof checkSocketOperation>[1],
    3,
  );

/** The message and code of each error, or the operation's name when it passed. */
function outcome(result: ReturnType<typeof check>) {
  if (!Array.isArray(result))
    return { passed: (result as { operationName?: string }).operationName };
  return (result as readonly GraphQLError[]).map((error) => [error.message, error.extensions.code]);
}

describe('checkSocketOperation', () => {
  it('passes a subscription, naming the operation asked for among several', () => {
    const result = check('subscription A { events { id } } subscription B { events { id } }', {
      operationName: 'B',
      variables: { after: '1' },
    });
    expect(outcome(result)).toEqual({ passed: 'B' });
    expect(result).toMatchObject({ variableValues: { after: '1' } });
  });

  it.each([
    ['a query', '{ root { id } }'],
    ['a mutation', 'mutation { touch }'],
  ])('refuses %s: only subscriptions are served over WebSocket', (_what, query) => {
    expect(outcome(check(query))).toEqual([
      [
        'Only subscriptions are served over WebSocket; send queries and mutations to POST /graphql',
        'BAD_REQUEST',
      ],
    ]);
  });

  it('answers a syntax error as POST /graphql does', () => {
    expect(outcome(check('subscription {'))).toEqual([
      [expect.stringMatching(/^Syntax Error/), 'GRAPHQL_PARSE_FAILED'],
    ]);
  });

  it('refuses a document over the token cap before validating it', () => {
    const fields = Array.from({ length: 6000 }, () => 'id').join(' ');
    expect(outcome(check(`subscription { events { ${fields} } }`))).toEqual([
      [expect.stringMatching(/more that 5000 tokens/), 'GRAPHQL_PARSE_FAILED'],
    ]);
  });

  it('applies the depth limit and the standard validation rules', () => {
    expect(outcome(check('subscription { events { child { child { child { id } } } } }'))).toEqual([
      [expect.stringMatching(/exceeds maximum operation depth of 3/), 'GRAPHQL_VALIDATION_FAILED'],
    ]);
    expect(outcome(check('subscription { events { nope } }'))).toEqual([
      [expect.stringMatching(/Cannot query field "nope"/), 'GRAPHQL_VALIDATION_FAILED'],
    ]);
  });

  it('refuses several operations without a name, and variables with a NUL character', () => {
    expect(
      outcome(check('subscription A { events { id } } subscription B { events { id } }')),
    ).toEqual([['Unable to identify the operation to run', 'OPERATION_RESOLUTION_FAILURE']]);
    expect(
      outcome(
        check('subscription ($a: ID) { events(after: $a) { id } }', {
          variables: { a: 'x\u0000' },
        }),
      ),
    ).toEqual([[expect.stringMatching(/NUL/), 'BAD_USER_INPUT']]);
  });
});
