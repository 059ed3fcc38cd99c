import { join } from 'node:path';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { GraphQLModule as NestGraphQLModule } from '@nestjs/graphql';
import type { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';
import { formatGraphQLError } from './graphql-error.formatter';
import { complexityLimitPlugin, depthLimitRule } from './query-limits';

/**
 * Code-first GraphQL at /graphql. In development the schema is written to src/schema.gql on start,
 * so that a change to it shows in review; tests compare that file with the live schema, so they
 * must not rewrite it. Apollo's CSRF prevention is on: a browser cannot
 * send a "simple" cross-site request that would run an operation with the user's cookie.
 */
@Module({
  imports: [
    NestGraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        path: '/graphql',
        // Apollo's drain would otherwise destroy every open socket in onModuleDestroy, before the
        // SSE registry tells open streams to reconnect (beforeApplicationShutdown).
        stopOnApplicationShutdown: true,
        autoSchemaFile: config.env === 'development' ? join(process.cwd(), 'src/schema.gql') : true,
        sortSchema: true,
        csrfPrevention: true,
        introspection: config.env !== 'production',
        playground: false,
        includeStacktraceInErrorResponses: false,
        autoTransformHttpErrors: false,
        formatError: formatGraphQLError,
        validationRules: [depthLimitRule(config.graphql.maxDepth)],
        plugins: [complexityLimitPlugin(config.graphql.maxComplexity)],
        context: ({ req, res }: { req: Request; res: Response }) => ({ req, res }),
      }),
    }),
  ],
})
export class GraphQLModule {}
