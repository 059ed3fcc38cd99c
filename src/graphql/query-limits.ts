import type { ApolloDriverConfig } from '@nestjs/apollo';
import { type ComplexityEstimator, getComplexity } from 'graphql-query-complexity';
import {
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import { DEFAULT_PAGE } from './pagination';

/**
 * Validation walks every field: a cap on a document's tokens bounds its CPU per request (thousands
 * of repeated fields cost over a second), far above any real operation.
 */
export const MAX_DOCUMENT_TOKENS = 5000;

// Typed through the driver's config: @apollo/server's CommonJS and ESM declarations do not mix.
export type ApolloPlugin = NonNullable<ApolloDriverConfig['plugins']>[number];

/**
 * The nesting of a selection set, spreads apart: `fields` is the depth of its deepest field (its
 * own fields are at 0), `spreads` the fragments it spreads and the depth each is spread at.
 * Introspection fields count as leaves: tools need them whatever the limit.
 */
interface Shape {
  fields: number;
  spreads: { name: string; depth: number }[];
}

function shapeOf(selectionSet: SelectionSetNode): Shape {
  const shape: Shape = { fields: 0, spreads: [] };
  const stack = [{ selectionSet, depth: 0 }];
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    const { depth } = entry;
    for (const selection of entry.selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        shape.fields = Math.max(shape.fields, depth);
        if (selection.selectionSet && !selection.name.value.startsWith('__')) {
          stack.push({ selectionSet: selection.selectionSet, depth: depth + 1 });
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        stack.push({ selectionSet: selection.selectionSet, depth });
      } else {
        shape.spreads.push({ name: selection.name.value, depth });
      }
    }
  }
  return shape;
}

/** A shape's depth, its spreads replaced by the fragments' depths (unknown fragments count 0). */
function depthOf(shape: Shape, fragmentDepths: Map<string, number>): number {
  return shape.spreads.reduce(
    (deepest, spread) => Math.max(deepest, spread.depth + (fragmentDepths.get(spread.name) ?? 0)),
    shape.fields,
  );
}

/**
 * Every fragment's depth, each computed once (a fragment spread many times is not expanded again
 * and again), in a loop over an explicit stack. A spread that closes a cycle counts 0 here;
 * NoFragmentCyclesRule reports the cycle.
 */
function fragmentDepths(fragments: FragmentDefinitionNode[]): Map<string, number> {
  const shapes = new Map(fragments.map((f) => [f.name.value, shapeOf(f.selectionSet)]));
  const depths = new Map<string, number>();
  const entered = new Set<string>();
  for (const start of shapes.keys()) {
    const stack = [start];
    while (stack.length > 0) {
      const name = stack[stack.length - 1];
      const shape = shapes.get(name)!;
      if (depths.has(name)) {
        stack.pop();
      } else if (!entered.has(name)) {
        entered.add(name);
        for (const { name: spread } of shape.spreads) {
          if (shapes.has(spread) && !entered.has(spread)) stack.push(spread);
        }
      } else {
        stack.pop();
        depths.set(name, depthOf(shape, depths));
      }
    }
  }
  return depths;
}

/**
 * Refuses operations nested deeper than `maxDepth` fields below the root field, fragments counted
 * as the nesting they expand to (a cheap guard against cyclic fan-out). Without recursion, and
 * safe on any document validation may meet: fragment cycles, unknown fragments.
 */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context) => ({
    Document(document) {
      const fragments = document.definitions.filter(
        (definition) => definition.kind === Kind.FRAGMENT_DEFINITION,
      );
      const depths = fragmentDepths(fragments);
      for (const definition of document.definitions) {
        if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
        if (depthOf(shapeOf(definition.selectionSet), depths) <= maxDepth) continue;
        const name = definition.name ? `Operation "${definition.name.value}"` : 'Operation';
        context.reportError(
          new GraphQLError(`${name} exceeds maximum operation depth of ${maxDepth}`, {
            nodes: [definition],
          }),
        );
      }
    },
  });
}

/**
 * Every field costs 1; a paginated field (one that takes `first`) multiplies what is under it by
 * the page size asked for, or the default page.
 */
const pageAwareEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  const paginated = field.args.some((arg) => arg.name === 'first');
  const pageSize = typeof args.first === 'number' ? args.first : DEFAULT_PAGE;
  return 1 + childComplexity * (paginated ? pageSize : 1);
};

/**
 * Refuses operations whose estimated cost is over `maxComplexity`. A plugin rather than a
 * validation rule, so that page sizes given as variables count.
 */
export function complexityLimitPlugin(maxComplexity: number): ApolloPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema }) {
          let complexity: number;
          try {
            complexity = getComplexity({
              schema,
              query: document,
              variables: request.variables,
              operationName: request.operationName,
              estimators: [pageAwareEstimator],
            });
          } catch {
            // Variables that do not fit the operation: Apollo refuses them itself, with
            // BAD_USER_INPUT, before anything runs.
            return;
          }
          if (complexity > maxComplexity) {
            throw new GraphQLError(
              `Query is too complex: ${complexity}, the maximum is ${maxComplexity}`,
              { extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } } },
            );
          }
        },
      };
    },
  };
}
