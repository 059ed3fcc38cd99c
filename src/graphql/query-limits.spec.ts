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

  it('names the operation it refuses', () => {
    const deep = nested(5).replace('{ root', 'query Deep { root');
    expect(errorsFor(deep, 4)).toEqual(['Operation "Deep" exceeds maximum operation depth of 4']);
  });

  it('counts a fragment where it is spread, also through other fragments and inline fragments', () => {
    const query = `{ root { child { ...a } } }
      fragment a on Node { ... on Node { child { ...b } } }
      fragment b on Node { child { id } }`;
    expect(errorsFor(query, 4)).toEqual([]);
    expect(errorsFor(query, 3)).toHaveLength(1);
  });

  it('reports a fragment cycle as the cycle rule does, without overflowing the stack', () => {
    const cycle = 'query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }';
    expect(errorsFor(cycle, 4)).toEqual(['Cannot spread fragment "A" within itself via "B".']);
    const deepCycle =
      '{ root { ...A } } fragment A on Node { child { child { ...B } } } fragment B on Node { ...A }';
    expect(errorsFor(deepCycle, 1)).toEqual([
      'Operation exceeds maximum operation depth of 1',
      'Cannot spread fragment "A" within itself via "B".',
    ]);
  });

  it('reports an unknown fragment as the known-fragments rule does', () => {
    expect(errorsFor('{ ...Missing }', 4)).toEqual(['Unknown fragment "Missing".']);
  });

  it('computes each fragment once, however often it is spread', () => {
    // Each fragment spreads the next one twice: expanded, 2^40 spreads; `id` is 41 fields deep.
    let query = '{ root { ...F0 } }';
    for (let i = 0; i < 40; i += 1) {
      query += ` fragment F${i} on Node { child { ...F${i + 1} } ... on Node { ...F${i + 1} } }`;
    }
    query += ' fragment F40 on Node { id }';
    expect(errorsFor(query, 41)).toEqual([]);
    expect(errorsFor(query, 40)).toHaveLength(1);
  });

  it('does not count introspection, which tools need whatever the limit', () => {
    expect(errorsFor('{ __schema { types { fields { type { ofType { name } } } } } }', 2)).toEqual(
      [],
    );
  });
});
