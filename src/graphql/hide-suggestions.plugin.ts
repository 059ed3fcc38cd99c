import type { ApolloPlugin } from './query-limits';

const SUGGESTION = / ?Did you mean .+\?$/;

/**
 * Removes graphql-js's "Did you mean …?" from every error of a request: with introspection off, the
 * suggestions would still spell out the schema. Apollo's `hideSchemaDetailsFromClientErrors` does
 * this for validation errors only; variables are coerced later, and their errors suggest the
 * field names of input types.
 */
export function hideSuggestionsPlugin(): ApolloPlugin {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors }) {
          for (const error of errors) error.message = error.message.replace(SUGGESTION, '');
        },
      };
    },
  };
}
