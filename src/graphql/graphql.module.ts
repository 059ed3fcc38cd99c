import { join } from 'node:path';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { GraphQLModule as NestGraphQLModule } from '@nestjs/graphql';
import type { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';
import { formatGraphQLError } from './graphql-error.formatter';
import { hideSuggestionsPlugin } from './hide-suggestions.plugin';
import { inputRefusal } from './input-limits';
import { subscriptionsOverSocketPlugin } from './subscriptions-over-socket.plugin';
import { complexityLimitPlugin, depthLimitRule, MAX_DOCUMENT_TOKENS } from './query-limits';

/**
 * Code-first GraphQL at /graphql. In development the schema is written to src/schema.gql on start,
 * so that a change to it shows in review; tests compare that file with the live schema, so they
 * must not rewrite it. Apollo's CSRF prevention is on: a browser cannot
 * send a "simple" cross-site request that would run an operation with the user's cookie. In
 * production, where introspection is off, errors do not suggest field or type names either.
 */
@Module({
  imports: [
    NestGraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const production = config.env === 'production';
        return {
          path: '/graphql',
          // Apollo's drain would otherwise destroy every open socket in onModuleDestroy, before the
          // SSE registry tells open streams to reconnect (beforeApplicationShutdown).
          stopOnApplicationShutdown: true,
          autoSchemaFile:
            config.env === 'development' ? join(process.cwd(), 'src/schema.gql') : true,
          sortSchema: true,
          csrfPrevention: true,
          introspection: !production,
          hideSchemaDetailsFromClientErrors: production,
          playground: false,
          includeStacktraceInErrorResponses: false,
          autoTransformHttpErrors: false,
          formatError: formatGraphQLError,
          parseOptions: { maxTokens: MAX_DOCUMENT_TOKENS },
          validationRules: [depthLimitRule(config.graphql.maxDepth)],
          plugins: [
            subscriptionsOverSocketPlugin(),
            complexityLimitPlugin(config.graphql.maxComplexity),
            ...(production ? [hideSuggestionsPlugin()] : []),
          ],
          // The first hook with the raw request whose thrown GraphQLError Apollo answers with its
          // `extensions.http` status; an error thrown from a plugin's early hooks becomes a 500.
          context: ({ req, res }: { req: Request; res: Response }) => {
            const refused = inputRefusal(req);
            if (refused) throw refused;
            return { req, res };
          },
        };
      },
    }),
  ],
  // GraphQLSchemaHost, for the WebSocket transport that serves the same schema.
  exports: [NestGraphQLModule],
})
export class GraphQLModule {}
