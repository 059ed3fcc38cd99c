import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { depthLimitRule } from './query-limits';

const schema = buildSchema(`
  type Node { id: ID, child: Node }
  type Query { root: Node }
`);

/** `{ root { child { child … { id } } } }` with `levels` fields from root to id. */
function nested(levels: number): string {
  let selection = 'id';
  for (let i = 1; i < levels; i += 1) selection = `child { ${selection} }`;
  return `{ root { ${selection} } }`;
}

const errorsFor = (query: string, maxDepth: number) =>
  validate(schema, parse(query), [...specifiedRules, depthLimitRule(maxDepth)]).map(
    (error) => error.message,
  );

describe('depthLimitRule', () => {
  it('lets through an operation at the limit and refuses one level more', () => {
    expect(errorsFor(nested(4), 4)).toEqual([]);
    expect(errorsFor(nested(5), 4)).toEqual([
      expect.stringMatching(/exceeds maximum operation depth of 4/),
    ]);
  });

  it('counts fragments as the nesting they expand to', () => {
    const query = `{ root { ...deep } } fragment deep on Node { child { child { child { child { id } } } } }`;
    expect(errorsFor(query, 4)).toHaveLength(1);
  });

  it('does not count introspection, which tools need whatever the limit', () => {
    expect(errorsFor('{ __schema { types { fields { type { ofType { name } } } } } }', 2)).toEqual(
      [],
    );
  });
});
