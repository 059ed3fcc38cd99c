import express from 'express';
import request from 'supertest';
import { jsonBody, jsonProblem, MAX_JSON_DEPTH } from './json-body.middleware';

/** `levels` arrays, one inside the other, as JSON text. */
const nestedArrays = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

describe('jsonProblem', () => {
  it(`lets ${MAX_JSON_DEPTH} levels of nesting through and refuses one more`, () => {
    expect(jsonProblem(JSON.parse(nestedArrays(MAX_JSON_DEPTH)), { nul: true })).toBeUndefined();
    expect(jsonProblem(JSON.parse(nestedArrays(MAX_JSON_DEPTH + 1)), { nul: true })).toEqual({
      kind: 'too-deep',
    });
    const objects = '{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1);
    expect(jsonProblem(JSON.parse(objects), { nul: false })).toEqual({ kind: 'too-deep' });
  });

  it('walks any depth JSON.parse accepts without overflowing the stack', () => {
    const deepest = JSON.parse(nestedArrays(50_000)) as unknown;
    expect(jsonProblem(deepest, { nul: false })).toEqual({ kind: 'too-deep' });
  });

  it('finds a prototype key at any level', () => {
    const value = JSON.parse('{"a":[{"b":{"__proto__":{"roles":["admin"]}}}]}') as unknown;
    expect(jsonProblem(value, { nul: false })).toEqual({
      kind: 'prototype-key',
      key: '__proto__',
    });
    expect(jsonProblem({ constructor: {} }, { nul: false })).toMatchObject({ key: 'constructor' });
  });

  it('finds a NUL character in a string, with its path, only when asked to', () => {
    const value = { items: [{ title: 'fine' }, { title: 'bad\u0000' }] };
    expect(jsonProblem(value, { nul: true })).toEqual({ kind: 'nul', path: 'items[1].title' });
    expect(jsonProblem(value, { nul: false })).toBeUndefined();
    expect(jsonProblem('\u0000', { nul: true })).toEqual({ kind: 'nul', path: '' });
    expect(jsonProblem({ 'bi\u0000o': 'x' }, { nul: true })).toEqual({ kind: 'nul-in-key' });
  });

  it('accepts ordinary bodies, empty ones included', () => {
    for (const body of [undefined, null, {}, [], 'text', 42, { name: 'Ada', tags: ['a', 'b'] }]) {
      expect(jsonProblem(body, { nul: true })).toBeUndefined();
    }
  });
});

describe('jsonBody', () => {
  const app = express();
  app.use(jsonBody());
  app.all('/{*path}', (req, res) => {
    res.json({ received: req.body ?? null });
  });
  const send = (path: string, text: string, method: 'post' | 'get' = 'post') =>
    request(app)[method](path).set('Content-Type', 'application/json').send(text);

  it('refuses 12,000 nested arrays with 400 in Nest shape, on any route and method', async () => {
    for (const [path, method] of [
      ['/health', 'get'],
      ['/auth/login', 'post'],
      ['/graphql', 'post'],
    ] as const) {
      const res = await send(path, nestedArrays(12_000), method);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        statusCode: 400,
        message: `Request body is nested deeper than ${MAX_JSON_DEPTH} levels`,
        error: 'Bad Request',
      });
    }
  });

  it('refuses a NUL character in REST bodies, and leaves it to GraphQL on /graphql', async () => {
    const body = JSON.stringify({ name: 'Ada', bio: 'a\u0000b' });
    const rest = await send('/auth/profile', body);
    expect(rest.status).toBe(400);
    expect(rest.body.message).toBe('bio must not contain the NUL character (U+0000)');
    const graphql = await send('/graphql', body);
    expect(graphql.status).toBe(200);
    expect(graphql.body.received).toEqual({ name: 'Ada', bio: 'a\u0000b' });
  });

  it('passes a well-formed body through', async () => {
    const res = await send('/auth/login', JSON.stringify({ email: 'a@b.c', tags: [[1]] }));
    expect(res.status).toBe(200);
    expect(res.body.received).toEqual({ email: 'a@b.c', tags: [[1]] });
  });
});
