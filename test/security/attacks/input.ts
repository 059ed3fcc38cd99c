import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { MAX_DOCUMENT_NESTING, MAX_FRAGMENTS } from '../../../src/graphql/input-limits';
import { MAX_JSON_DEPTH } from '../../../src/infra/http/json-body.middleware';
import { newRegistration, registerAuthor, type SignedIn } from '../../support/auth';
import { dataOf, type Data } from '../../support/graphql';
import type { TestApp } from '../../support/test-app';
import type { Attack } from '../attack';

// Findings 1, 5, 6 and 9 of the outside review: untrusted input that crashed the process, answered
// 500, or spelled out the schema. Each row sends the input as an outsider would, asserts the
// refusal, that the process still answers, and reads back what the request could have written.

const unique = () => randomBytes(4).toString('hex');
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const nestedArrays = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
const PROFILE_UPDATE =
  'mutation P($input: UpdateProfileInput!) { updateProfile(input: $input) { id bio } }';
const SHOUTS = '{ shouts(first: 20) { nodes { id title authorId } } }';
const NUL_IN_STRINGS = 'String values must not contain the NUL character (U+0000)';

function graphql(t: TestApp, token: string | undefined, query: string, variables: Data = {}) {
  const req = t.http().post('/graphql');
  if (token) req.set(bearer(token));
  return req.send({ query, variables });
}

/** A GET /graphql as a non-browser client sends it (Apollo's CSRF prevention wants the header). */
function graphqlGet(t: TestApp, params: Record<string, string>) {
  return t.http().get('/graphql').set('apollo-require-preflight', 'true').query(params);
}

async function profileOf(t: TestApp, victim: SignedIn): Promise<Data> {
  const res = await t.http().get('/auth/profile').set(bearer(victim.token!));
  expect(res.status).toBe(200);
  return res.body;
}

async function newestShouts(t: TestApp): Promise<Data> {
  return dataOf(await graphql(t, undefined, SHOUTS));
}

async function expectAlive(t: TestApp): Promise<void> {
  const res = await t.http().get('/health');
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ status: 'ok' });
}

/** A 400 in Nest's error shape (the JSON body check, before routing). */
function expectBodyRefused(res: Response, message: string): void {
  expect(res.status).toBe(400);
  expect(res.body).toEqual({ statusCode: 400, message, error: 'Bad Request' });
}

/** A 400 in GraphQL's error shape, with one error, nothing run. */
function expectGraphQLRefused(res: Response, code: string, message: string | RegExp): void {
  expect(res.status).toBe(400);
  expect(res.body.data).toBeUndefined();
  expect(res.body.errors).toHaveLength(1);
  expect(res.body.errors[0].extensions).toEqual({ code });
  expect(res.body.errors[0].message).toMatch(message);
}

const messagesOf = (res: Response): string =>
  res.body.errors.map((error: { message: string }) => error.message).join('\n');

const TOO_DEEP_BODY = `Request body is nested deeper than ${MAX_JSON_DEPTH} levels`;
const TOO_DEEP_DOCUMENT = `Document is nested deeper than ${MAX_DOCUMENT_NESTING} levels`;

export const attacks: Attack[] = [
  {
    name: 'JSON body of 12,000 (and 5,000) nested arrays to GET /health and PUT /auth/profile',
    status: 'fixed',
    run: async (ctx) => {
      const t = ctx.app;
      const victim = await registerAuthor(t, 'bearer');
      const before = await profileOf(t, victim);
      for (const levels of [12_000, 5_000]) {
        const health = await t
          .http()
          .get('/health')
          .set('Content-Type', 'application/json')
          .send(nestedArrays(levels));
        expectBodyRefused(health, TOO_DEEP_BODY);
        const write = await t
          .http()
          .put('/auth/profile')
          .set(bearer(victim.token!))
          .set('Content-Type', 'application/json')
          .send(`{"bio":"written by a nested body","name":${nestedArrays(levels)}}`);
        expectBodyRefused(write, TOO_DEEP_BODY);
        await expectAlive(t);
      }
      expect(await profileOf(t, victim)).toEqual(before);
    },
  },
  {
    name: 'GraphQL nested thousands deep: selection sets, list and object literals, variables (POST and GET)',
    status: 'fixed',
    run: async (ctx) => {
      const t = ctx.app;
      const victim = await registerAuthor(t, 'bearer');
      const before = await profileOf(t, victim);
      const write = (value: string) =>
        `mutation { updateProfile(input: {bio: "pwned", name: ${value}}) { id } }`;
      const documents = [
        write(nestedArrays(5000)),
        write(`${'{a: '.repeat(3000)}1${'}'.repeat(3000)}`),
        `{${'shouts { nodes { '.repeat(1500)}id${' } }'.repeat(1500)}}`,
      ];
      for (const query of documents) {
        expectGraphQLRefused(
          await graphql(t, victim.token, query),
          'GRAPHQL_PARSE_FAILED',
          TOO_DEEP_DOCUMENT,
        );
      }
      const got = await graphqlGet(t, { query: `{author(slug:${nestedArrays(2000)}){id}}` });
      expectGraphQLRefused(got, 'GRAPHQL_PARSE_FAILED', TOO_DEEP_DOCUMENT);

      const deepVariables = await t
        .http()
        .post('/graphql')
        .set(bearer(victim.token!))
        .set('Content-Type', 'application/json')
        .send(
          `{"query":${JSON.stringify(PROFILE_UPDATE)},"variables":{"input":{"bio":"pwned","name":${nestedArrays(5000)}}}}`,
        );
      expectBodyRefused(deepVariables, TOO_DEEP_BODY);
      const deepGetVariables = await graphqlGet(t, {
        query: 'query A($s: String) { author(slug: $s) { id } }',
        variables: `{"s":${nestedArrays(2000)}}`,
      });
      expectGraphQLRefused(
        deepGetVariables,
        'BAD_USER_INPUT',
        `Variables are nested deeper than ${MAX_JSON_DEPTH} levels`,
      );
      await expectAlive(t);
      expect(await profileOf(t, victim)).toEqual(before);
    },
  },
  {
    name: 'GraphQL fragment cycle, unknown fragment and 2,000-fragment chain around a mutation',
    status: 'fixed',
    run: async (ctx) => {
      const t = ctx.app;
      const victim = await registerAuthor(t, 'bearer');
      const before = await profileOf(t, victim);
      const update = 'updateProfile(input: {bio: "written by a cyclic document"}) { id }';
      const cycle = await graphql(
        t,
        victim.token,
        `mutation { ...A } fragment A on Mutation { ${update} ...B } fragment B on Mutation { ...A }`,
      );
      expectGraphQLRefused(
        cycle,
        'GRAPHQL_VALIDATION_FAILED',
        'Cannot spread fragment "A" within itself via "B".',
      );
      const unknown = await graphql(t, victim.token, `mutation { ${update} ...Missing }`);
      expectGraphQLRefused(unknown, 'GRAPHQL_VALIDATION_FAILED', 'Unknown fragment "Missing".');

      let chain = 'mutation { ...F0 }';
      for (let i = 0; i < 2000; i += 1) chain += ` fragment F${i} on Mutation { ...F${i + 1} }`;
      chain += ` fragment F2000 on Mutation { ${update} }`;
      expectGraphQLRefused(
        await graphql(t, victim.token, chain),
        'GRAPHQL_PARSE_FAILED',
        `Document defines more than ${MAX_FRAGMENTS} fragments`,
      );
      await expectAlive(t);
      expect(await profileOf(t, victim)).toEqual(before);
    },
  },
  {
    name: 'NUL character in REST text: profile bio and name, sign-up name, login and forgot-password email',
    status: 'fixed',
    run: async (ctx) => {
      const t = ctx.app;
      const victim = await registerAuthor(t, 'bearer');
      const before = await profileOf(t, victim);
      for (const [field, body] of [
        ['bio', { bio: 'a\u0000b' }],
        ['name', { name: `Name\u0000${unique()}` }],
      ] as const) {
        const res = await t.http().put('/auth/profile').set(bearer(victim.token!)).send(body);
        expectBodyRefused(res, `${field} must not contain the NUL character (U+0000)`);
      }
      expect(await profileOf(t, victim)).toEqual(before);

      const registration = newRegistration({ name: `Nul\u0000${unique()}` });
      const signUp = await t
        .http()
        .post('/auth/register')
        .send({ ...registration, mode: 'bearer' });
      expectBodyRefused(signUp, 'name must not contain the NUL character (U+0000)');
      const signIn = await t
        .http()
        .post('/auth/login')
        .send({ email: registration.email, password: registration.password, mode: 'bearer' });
      expect(signIn.status).toBe(401);

      for (const route of ['/auth/login', '/auth/password/forgot']) {
        const res = await t
          .http()
          .post(route)
          .send({ email: `${victim.email}\u0000`, password: victim.password, mode: 'bearer' });
        expectBodyRefused(res, 'email must not contain the NUL character (U+0000)');
      }
      await expectAlive(t);
    },
  },
  {
    name: 'NUL character in GraphQL string literals and variables: createShout, updateProfile, author(slug)',
    status: 'fixed',
    run: async (ctx) => {
      const t = ctx.app;
      const victim = await registerAuthor(t, 'bearer');
      const profileBefore = await profileOf(t, victim);
      const shoutsBefore = await newestShouts(t);

      const literal = await graphql(
        t,
        victim.token,
        'mutation { createShout(input: {title: "t\\u0000", body: "b"}) { id } }',
      );
      expectGraphQLRefused(literal, 'BAD_USER_INPUT', NUL_IN_STRINGS);
      const variable = await graphql(
        t,
        victim.token,
        'mutation S($input: CreateShoutInput!) { createShout(input: $input) { id } }',
        { input: { title: 'title\u0000', body: 'body' } },
      );
      expectGraphQLRefused(
        variable,
        'BAD_USER_INPUT',
        'Variable "$input" must not contain the NUL character (U+0000) (at "input.title")',
      );
      const profile = await graphql(t, victim.token, PROFILE_UPDATE, {
        input: { bio: 'bio\u0000' },
      });
      expectGraphQLRefused(profile, 'BAD_USER_INPUT', /Variable "\$input" must not contain/);

      const lookup = await graphql(t, undefined, '{ author(slug: "a\\u0000") { id } }');
      expectGraphQLRefused(lookup, 'BAD_USER_INPUT', NUL_IN_STRINGS);
      const lookupByGet = await graphqlGet(t, {
        query: 'query A($s: String) { author(slug: $s) { id } }',
        variables: JSON.stringify({ s: 'a\u0000' }),
      });
      expectGraphQLRefused(
        lookupByGet,
        'BAD_USER_INPUT',
        'Variable "$s" must not contain the NUL character (U+0000)',
      );

      await expectAlive(t);
      expect(await profileOf(t, victim)).toEqual(profileBefore);
      expect(await newestShouts(t)).toEqual(shoutsBefore);
    },
  },
  {
    name: 'schema probing through "Did you mean" suggestions in production (introspection off)',
    status: 'fixed',
    run: async (ctx) => {
      // Each probe is one typo away from a name of the schema, which a suggestion would spell out.
      const probes: [query: string, variables: Data, name: string][] = [
        ['{ autor(slug: "x") { id } }', {}, '"author"'],
        ['{ author(slugg: "x") { id } }', {}, '"slug"'],
        ['{ shouts { nodes { titel } } }', {}, '"title"'],
        ['query Q($i: CreateShoutInputt) { shouts { nodes { id } } }', {}, '"CreateShoutInput"'],
        [
          'mutation S($input: CreateShoutInput!) { createShout(input: $input) { id } }',
          { input: { title: 'x', body: 'y', bodyy: 'z' } },
          '"body"',
        ],
      ];
      // Outside production the suggestions are there: the probes do find the names.
      for (const [query, variables, name] of probes) {
        const res = await graphql(ctx.app, undefined, query, variables);
        expect(res.status).toBe(400);
        expect(messagesOf(res)).toContain(`Did you mean ${name}`);
      }
      const production = await ctx.production();
      const shoutsBefore = await newestShouts(production);
      for (const [query, variables, name] of probes) {
        const res = await graphql(production, undefined, query, variables);
        expect(res.status).toBe(400);
        expect(res.body.data).toBeUndefined();
        expect(res.body.errors.length).toBeGreaterThan(0);
        expect(messagesOf(res)).not.toContain('Did you mean');
        expect(messagesOf(res)).not.toContain(name);
      }
      const introspection = await graphql(production, undefined, '{ __schema { types { name } } }');
      expect(introspection.status).toBe(400);
      expect(JSON.stringify(introspection.body)).not.toContain('CreateShoutInput');
      expect(await newestShouts(production)).toEqual(shoutsBefore);
    },
  },
];
