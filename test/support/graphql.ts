import type { Response } from 'supertest';

/** A GraphQL answer's data: JSON whose shape the assertions themselves check. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Data = Record<string, any>;

/** Asserts the operation succeeded and returns its data. */
export function dataOf(res: Response): Data {
  expect(res.body.errors).toBeUndefined();
  expect(res.status).toBe(200);
  return res.body.data;
}

/** The code of the one error the operation answered with. */
export function errorCode(res: Response): string {
  expect(res.body.errors).toHaveLength(1);
  return res.body.errors[0].extensions.code;
}
