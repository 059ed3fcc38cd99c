import type { Request } from 'express';
import { GraphQLError, Lexer, Source, type Token, TokenKind } from 'graphql';
import { jsonProblem, MAX_JSON_DEPTH } from '../infra/http/json-body.middleware';

/**
 * How deeply braces, brackets and parentheses may nest in a document: above any depth
 * GRAPHQL_MAX_DEPTH allows (50) with its arguments, far below the few thousand at which
 * graphql-js's recursive parser overflows the stack.
 */
export const MAX_DOCUMENT_NESTING = 100;
/**
 * Fragments a document may define. Validation, the complexity estimate and execution follow a
 * chain of spreads by recursion, and a chain needs one fragment per link.
 */
export const MAX_FRAGMENTS = 100;

const OPENING = new Set<TokenKind>([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSING = new Set<TokenKind>([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);
const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';

function refusal(
  message: string,
  code: 'BAD_USER_INPUT' | 'GRAPHQL_PARSE_FAILED',
  at?: { source: Source; token: Token },
): GraphQLError {
  return new GraphQLError(message, {
    source: at?.source,
    positions: at && [at.token.start],
    extensions: { code, http: { status: 400 } },
  });
}

/**
 * Reads a document token by token (graphql-js's lexer is a loop) and refuses what the parser or
 * the database cannot take: nesting beyond MAX_DOCUMENT_NESTING, more than MAX_FRAGMENTS
 * fragments, a NUL character in a string value. A syntax error is left to the parser, which
 * reports it as usual.
 */
export function documentRefusal(document: string): GraphQLError | undefined {
  const source = new Source(document);
  const lexer = new Lexer(source);
  let nesting = 0;
  let fragments = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if (OPENING.has(token.kind)) {
        nesting += 1;
        if (nesting > MAX_DOCUMENT_NESTING) {
          return refusal(
            `Document is nested deeper than ${MAX_DOCUMENT_NESTING} levels`,
            'GRAPHQL_PARSE_FAILED',
            { source, token },
          );
        }
      } else if (CLOSING.has(token.kind)) {
        nesting -= 1;
      } else if (token.kind === TokenKind.NAME && token.value === 'fragment' && nesting === 0) {
        fragments += 1;
        if (fragments > MAX_FRAGMENTS) {
          return refusal(
            `Document defines more than ${MAX_FRAGMENTS} fragments`,
            'GRAPHQL_PARSE_FAILED',
            { source, token },
          );
        }
      } else if (
        (token.kind === TokenKind.STRING || token.kind === TokenKind.BLOCK_STRING) &&
        token.value.includes('\0')
      ) {
        return refusal(`String values ${NUL_MESSAGE}`, 'BAD_USER_INPUT', { source, token });
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Variables are JSON from the request: the rules of a REST body, NUL included. */
export function variablesRefusal(variables: unknown): GraphQLError | undefined {
  const problem = jsonProblem(variables, { nul: true });
  switch (problem?.kind) {
    case undefined:
      return undefined;
    case 'too-deep':
      return refusal(`Variables are nested deeper than ${MAX_JSON_DEPTH} levels`, 'BAD_USER_INPUT');
    case 'prototype-key':
      return refusal(`Variables must not have the property ${problem.key}`, 'BAD_USER_INPUT');
    case 'nul': {
      const name = problem.path.split(/[.[]/)[0];
      const at = problem.path === name ? '' : ` (at "${problem.path}")`;
      return refusal(`Variable "$${name}" ${NUL_MESSAGE}${at}`, 'BAD_USER_INPUT');
    }
    case 'nul-in-key':
      return refusal(`Variable and field names ${NUL_MESSAGE}`, 'BAD_USER_INPUT');
  }
}

/** The document and the variables of a request, as Apollo will read them (GET or POST). */
function operationOf(req: Request): { documents: unknown[]; variables: unknown[] } {
  if (req.method === 'POST') {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null) return { documents: [], variables: [] };
    const { query, variables } = body as Record<string, unknown>;
    return { documents: [query], variables: [variables] };
  }
  if (req.method !== 'GET') return { documents: [], variables: [] };
  const query = req.originalUrl.indexOf('?');
  const params = new URLSearchParams(query < 0 ? '' : req.originalUrl.slice(query + 1));
  return {
    documents: params.getAll('query'),
    variables: params.getAll('variables').map((text) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return undefined;
      }
    }),
  };
}

/**
 * Checks a /graphql request's document and variables before Apollo parses, validates or coerces
 * them: all three recurse, and Postgres refuses NUL in text. A GET request's variables come
 * straight from the query string, so the JSON body check alone would not cover them. What Apollo
 * itself refuses (a query that is not a string, variables that are not JSON) is left to it.
 */
export function inputRefusal(req: Request): GraphQLError | undefined {
  const { documents, variables } = operationOf(req);
  for (const value of variables) {
    const refused = variablesRefusal(value);
    if (refused) return refused;
  }
  for (const document of documents) {
    const refused = typeof document === 'string' ? documentRefusal(document) : undefined;
    if (refused) return refused;
  }
  return undefined;
}
