import { randomBytes } from 'node:crypto';

/** A signed-in bench author: id and bearer token (also usable as the session cookie's value). */
export interface BenchUser {
  id: number;
  email: string;
  password: string;
  token: string;
}

const runTag = randomBytes(3).toString('hex');
let counter = 0;
/** Passes the strength check (long, random); the same for every bench author. */
export const BENCH_PASSWORD = `bench ${randomBytes(12).toString('base64url')} pass`;

async function call<T>(
  url: string,
  init: { method?: string; body?: unknown; token?: string; origin?: string },
): Promise<T> {
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'POST'} ${url} → ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Registers one author through the public route (bearer mode) and returns it signed in. */
export async function registerUser(baseUrl: string): Promise<BenchUser> {
  const email = `bench-${runTag}-${++counter}@example.test`;
  const body = await call<{ author: { id: number }; token: string }>(`${baseUrl}/auth/register`, {
    body: { email, password: BENCH_PASSWORD, name: `Bench ${counter}`, mode: 'bearer' },
  });
  return { id: body.author.id, email, password: BENCH_PASSWORD, token: body.token };
}

/** A new session for an existing author (POST /auth/login, bearer mode): its token. */
export async function login(baseUrl: string, user: BenchUser): Promise<string> {
  const body = await call<{ token: string }>(`${baseUrl}/auth/login`, {
    body: { email: user.email, password: user.password, mode: 'bearer' },
  });
  return body.token;
}

export async function logout(baseUrl: string, token: string): Promise<void> {
  await call(`${baseUrl}/auth/logout`, { method: 'POST', token });
}

/** A GraphQL operation with a bearer token; throws on any error in the response. */
export async function graphql<T>(
  baseUrl: string,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const body = await call<{ data?: T; errors?: { message: string }[] }>(`${baseUrl}/graphql`, {
    body: { query, variables },
    token,
  });
  if (body.errors?.length) throw new Error(`GraphQL: ${body.errors[0].message}`);
  return body.data!;
}

/** Runs `task` for 0..count-1 with at most `inFlight` at once; results in index order. */
export async function inParallel<T>(
  count: number,
  inFlight: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      for (let index = next++; index < count; index = next++) results[index] = await task(index);
    }),
  );
  return results;
}
