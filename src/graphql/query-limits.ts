import type { ApolloDriverConfig } from '@nestjs/apollo';
import depthLimit from 'graphql-depth-limit';
import { type ComplexityEstimator, getComplexity } from 'graphql-query-complexity';
import { GraphQLError, type ValidationRule } from 'graphql';
import { DEFAULT_PAGE } from './pagination';

/** Refuses operations nested deeper than `maxDepth` (a cheap guard against cyclic fan-out). */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return depthLimit(maxDepth) as ValidationRule;
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
// Typed through the driver's config: @apollo/server's CommonJS and ESM declarations do not mix.
type ApolloPlugin = NonNullable<ApolloDriverConfig['plugins']>[number];

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
