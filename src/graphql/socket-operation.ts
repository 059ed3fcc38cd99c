import {
  type DocumentNode,
  getOperationAST,
  GraphQLError,
  type GraphQLSchema,
  parse,
  specifiedRules,
  validate,
} from 'graphql';
import { documentRefusal, variablesRefusal } from './input-limits';
import { depthLimitRule, MAX_DOCUMENT_TOKENS } from './query-limits';

/** A `subscribe` message's payload, as graphql-ws has checked its shape. */
export interface SocketOperationRequest {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

/** What graphql-js needs to run an operation that passed every check. */
export interface CheckedSocketOperation {
  document: DocumentNode;
  operationName: string | undefined;
  variableValues: Record<string, unknown> | undefined;
}

/**
 * The checks POST /graphql applies, for an operation sent over WebSocket: input limits, the token
 * cap, validation with the depth limit. Only subscriptions are served there: queries and mutations
 * go over HTTP, where the complexity limit, rate limits and the origin rule for writes apply.
 * Returns the errors to send back instead of running the operation.
 */
export function checkSocketOperation(
  schema: GraphQLSchema,
  request: SocketOperationRequest,
  maxDepth: number,
): CheckedSocketOperation | readonly GraphQLError[] {
  const refused = documentRefusal(request.query) ?? variablesRefusal(request.variables);
  if (refused) return [refused];
  let document: DocumentNode;
  try {
    document = parse(request.query, { maxTokens: MAX_DOCUMENT_TOKENS });
  } catch (error) {
    const message = error instanceof GraphQLError ? error.message : 'Syntax Error';
    return [requestError(message, 'GRAPHQL_PARSE_FAILED')];
  }
  const errors = validate(schema, document, [...specifiedRules, depthLimitRule(maxDepth)]);
  if (errors.length > 0) {
    return errors.map((error) => requestError(error.message, 'GRAPHQL_VALIDATION_FAILED'));
  }
  const operationName = request.operationName ?? undefined;
  const operation = getOperationAST(document, operationName);
  if (!operation) {
    return [
      requestError('Unable to identify the operation to run', 'OPERATION_RESOLUTION_FAILURE'),
    ];
  }
  if (operation.operation !== 'subscription') {
    return [
      requestError(
        'Only subscriptions are served over WebSocket; send queries and mutations to POST /graphql',
        'BAD_REQUEST',
      ),
    ];
  }
  return { document, operationName, variableValues: request.variables ?? undefined };
}

/** An error with the code POST /graphql gives the same refusal. */
function requestError(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}
