import { GraphQLError } from 'graphql';
import type { ApolloPlugin } from './query-limits';

/**
 * Refuses a subscription sent to POST /graphql: Apollo would run it as a query, calling the
 * field's resolver without a subscription behind it. Subscriptions are served over WebSocket on
 * the same path (README, "Real time over WebSocket").
 */
export function subscriptionsOverSocketPlugin(): ApolloPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== 'subscription') return;
          throw new GraphQLError('Subscriptions are served over WebSocket at /graphql', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        },
      };
    },
  };
}
