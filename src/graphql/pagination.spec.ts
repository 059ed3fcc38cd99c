import { BadRequestException } from '@nestjs/common';
import { decodeCursor, encodeCursor, toPage } from './pagination';

const base64url = (text: string) => Buffer.from(text).toString('base64url');

interface Row {
  id: number;
  name: string;
}

const rows = (...ids: number[]): Row[] => ids.map((id) => ({ id, name: `row ${id}` }));

describe('cursors', () => {
  it.each([1, 42, 2_147_483_647])('round-trips the id %d', (id) => {
    expect(decodeCursor(encodeCursor(id))).toBe(id);
  });

  it('round-trips a bigserial id when the list allows it', () => {
    expect(decodeCursor(encodeCursor(999_999_999_999_999), Number.MAX_SAFE_INTEGER)).toBe(
      999_999_999_999_999,
    );
  });

  it('refuses an id past the list’s id range (int4 unless told otherwise)', () => {
    expect(() => decodeCursor(encodeCursor(2_147_483_648))).toThrow(BadRequestException);
  });

  it('reads null and undefined as the first page', () => {
    expect(decodeCursor(null)).toBeUndefined();
    expect(decodeCursor(undefined)).toBeUndefined();
  });

  it('round-trips an id given as a string of digits', () => {
    expect(decodeCursor(encodeCursor('1234'))).toBe(1234);
  });

  it('makes URL-safe cursors short enough for the `after` argument (64 characters)', () => {
    const cursor = encodeCursor(999_999_999_999_999);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursor.length).toBeLessThanOrEqual(64);
    // Opaque: the row id is not readable in the cursor.
    expect(encodeCursor(123456)).not.toContain('123456');
  });

  it('gives distinct cursors for distinct ids', () => {
    expect(encodeCursor(10)).not.toBe(encodeCursor(11));
  });

  it('treats a missing cursor as the first page', () => {
    expect(decodeCursor(undefined)).toBeUndefined();
  });

  it.each([
    ['the empty string', ''],
    ['plain text', 'not a cursor'],
    ['characters outside base64', '!!!!'],
    ['the unencoded form', 'c:5'],
    ['base64 of another prefix', base64url('x:5')],
    ['base64 of JSON', base64url('{"id":5}')],
    ['base64 of the prefix alone', base64url('c:')],
    ['base64 of a non-number', base64url('c:abc')],
    ['base64 of a decimal', base64url('c:1.5')],
    ['base64 of an exponent', base64url('c:1e3')],
    ['base64 with padding spaces', base64url('c: 5')],
    ['base64 with a trailing newline', base64url('c:5\n')],
    ['base64 with trailing content', base64url('c:5;DROP TABLE shout')],
    ['a negative id', encodeCursor(-1)],
    ['a 16-digit id', encodeCursor(1_000_000_000_000_000)],
    ['an id past the safe integers', base64url('c:99999999999999999999')],
  ])('refuses %s with a BadRequestException', (_label, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(BadRequestException);
  });

  it('says what is wrong without echoing the cursor', () => {
    const cursor = base64url('<script>');
    expect(() => decodeCursor(cursor)).toThrow('after is not a cursor from this list');
  });
});

describe('toPage', () => {
  const page = (fetched: Row[], limit: number) =>
    toPage(
      fetched,
      limit,
      (row) => row.id,
      (row) => row.name,
    );

  it('with limit + 1 rows: drops the extra row, has a next page and ends at the last node', () => {
    const result = page(rows(9, 7, 5, 3), 3);
    expect(result.nodes).toEqual(['row 9', 'row 7', 'row 5']);
    expect(result.pageInfo).toEqual({ hasNextPage: true, endCursor: encodeCursor(5) });
    // The next page starts after the last node shown, not after the row that was only peeked at.
    expect(decodeCursor(result.pageInfo.endCursor!)).toBe(5);
  });

  it('with exactly limit rows: no next page', () => {
    const result = page(rows(4, 2), 2);
    expect(result.nodes).toEqual(['row 4', 'row 2']);
    expect(result.pageInfo).toEqual({ hasNextPage: false, endCursor: encodeCursor(2) });
  });

  it('with fewer rows than the limit: no next page, cursor of the last node', () => {
    const result = page(rows(8), 20);
    expect(result.nodes).toEqual(['row 8']);
    expect(result.pageInfo).toEqual({ hasNextPage: false, endCursor: encodeCursor(8) });
  });

  it('with no rows: no nodes, no next page and a null cursor', () => {
    expect(page([], 20)).toEqual({ nodes: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('takes the cursor from idOf, which may differ from the mapped node', () => {
    const result = toPage(
      [{ key: 'x', position: 31 }],
      5,
      (row) => row.position,
      (row) => row.key,
    );
    expect(result.nodes).toEqual(['x']);
    expect(decodeCursor(result.pageInfo.endCursor!)).toBe(31);
  });
});
