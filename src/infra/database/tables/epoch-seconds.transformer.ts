import type { ValueTransformer } from 'typeorm';

/** Times are stored as epoch seconds in `bigint` columns (as in the original system); pg returns them as strings. */
export const epochSeconds: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
