import { randomBytes } from 'node:crypto';
import { startTestApp, type TestApp } from './support/test-app';

interface ExpressLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** `GET /auth/sessions/:id` → `get /auth/sessions/{id}`, OpenAPI's spelling. */
const toOpenApi = (method: string, path: string) => `${method} ${path.replace(/:(\w+)/g, '{$1}')}`;

describe('OpenAPI document', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('serves the UI at /docs', async () => {
    const res = await t.http().get('/docs').expect(200);
    expect(res.text).toContain('swagger-ui');
  });

  it('documents every REST route the server mounts', async () => {
    const document = (await t.http().get('/docs/json').expect(200)).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method} ${path}`),
    );
    const stack = (t.app.getHttpAdapter().getInstance() as { router: { stack: ExpressLayer[] } })
      .router.stack;
    const mounted = stack
      .filter(
        // Application routes only: not GraphQL, the docs themselves, or catch-all handlers.
        (layer) => layer.route && !/^\/(graphql|docs)|\*/.test(layer.route.path),
      )
      .flatMap((layer) =>
        Object.keys(layer.route!.methods).map((method) => toOpenApi(method, layer.route!.path)),
      );
    expect(mounted).toEqual(
      expect.arrayContaining(['post /auth/login', 'delete /auth/sessions/{id}']),
    );
    expect(documented.sort()).toEqual(expect.arrayContaining(mounted.sort()));
  });
});

describe('OpenAPI in production', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      NODE_ENV: 'production',
      JWT_SECRET: randomBytes(48).toString('base64'),
      MAIL_ALLOW_LOG_TRANSPORT: 'true',
      DOCS_ENABLED: 'true',
    });
  });
  afterAll(() => t.close());

  // Off by default in production (test/app.e2e-spec.ts); an operator may turn it on.
  it('is served when DOCS_ENABLED=true', async () => {
    expect((await t.http().get('/docs').expect(200)).text).toContain('swagger-ui');
    const document = (await t.http().get('/docs/json').expect(200)).body as { paths: object };
    expect(Object.keys(document.paths)).toContain('/auth/login');
  });
});
