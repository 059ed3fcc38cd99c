import { BadRequestException, type Type } from '@nestjs/common';
import { ArgsType, Field, Int, ObjectType } from '@nestjs/graphql';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;

/** `first` and `after` of a cursor-paginated list. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: `1 to ${MAX_PAGE}; ${DEFAULT_PAGE} by default` })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  first?: number;

  @Field(() => String, { nullable: true, description: 'endCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  after?: string | null;
}

@ObjectType()
export class PageInfo {
  @Field(() => String, { nullable: true }) endCursor: string | null;
  @Field() hasNextPage: boolean;
}

export interface Page<T> {
  nodes: T[];
  pageInfo: PageInfo;
}

/** A GraphQL connection type for `item`: `{ nodes, pageInfo }`. */
export function Connection<T>(item: Type<T>): Type<Page<T>> {
  @ObjectType({ isAbstract: true })
  abstract class ConnectionType implements Page<T> {
    @Field(() => [item]) nodes: T[];
    @Field(() => PageInfo) pageInfo: PageInfo;
  }
  return ConnectionType as unknown as Type<Page<T>>;
}

/** Cursors are opaque to clients; inside, a row id. */
export function encodeCursor(id: number | string): string {
  return Buffer.from(`c:${id}`).toString('base64url');
}

/** The largest id of a `serial` (int4) column; lists over `bigserial` ids pass a larger bound. */
const INT4_MAX = 2_147_483_647;

/**
 * The row id inside a cursor. `null` and `undefined` mean the first page (clients pass back the
 * `endCursor` of an empty page, which is null). An id past `maxId` cannot be one this list gave out.
 */
export function decodeCursor(
  cursor: string | null | undefined,
  maxId: number = INT4_MAX,
): number | undefined {
  if (cursor === undefined || cursor === null) return undefined;
  const match = /^c:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match || Number(match[1]) > maxId) {
    throw new BadRequestException('after is not a cursor from this list');
  }
  return Number(match[1]);
}

/**
 * Builds a page from rows fetched with `limit + 1`: the extra row only tells that there is more.
 * `idOf` gives the cursor of a row.
 */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  idOf: (row: R) => number | string,
  map: (row: R) => T,
): Page<T> {
  const pageRows = rows.slice(0, limit);
  const last = pageRows[pageRows.length - 1];
  return {
    nodes: pageRows.map(map),
    pageInfo: {
      endCursor: last === undefined ? null : encodeCursor(idOf(last)),
      hasNextPage: rows.length > limit,
    },
  };
}

/**
 * One page of a keyset-paginated list: `fetch` gets the row id from `after` (undefined on the first
 * page) and how many rows to read, one more than the page, which only tells whether there is more.
 */
export async function fetchPage<R>(
  page: PageArgs,
  fetch: (after: number | undefined, limit: number) => Promise<R[]>,
  idOf: (row: R) => number | string,
  maxId?: number,
): Promise<Page<R>> {
  const limit = page.first ?? DEFAULT_PAGE;
  const rows = await fetch(decodeCursor(page.after, maxId), limit + 1);
  return toPage(rows, limit, idOf, (row) => row);
}
