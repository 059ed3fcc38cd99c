import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { REDIS_STORE, type RedisStore } from '../src/infra/redis/redis-store';
import { startTestApp, type TestApp } from './support/test-app';

const ALLOWED_ORIGIN = 'https://app.example.test';

describe('HTTP foundation', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: ALLOWED_ORIGIN });
  });
  afterAll(() => t.close());

  it('reports health with both components up', async () => {
    const res = await t.http().get('/health').expect(200);
    expect(res.body).toEqual({ status: 'ok', db: 'up', redis: 'up' });
  });

  it('serves Prometheus metrics with the default process metrics', async () => {
    const res = await t.http().get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(res.text).toContain('nodejs_heap_size_used_bytes');
  });

  it('answers an unknown route with 404 in Nest error shape', async () => {
    const res = await t.http().get('/no/such/route').expect(404);
    expect(res.body).toEqual({
      statusCode: 404,
      message: 'Cannot GET /no/such/route',
      error: 'Not Found',
    });
  });

  it('answers malformed JSON with 400 and no stack trace', async () => {
    const res = await t
      .http()
      .post('/health')
      .set('Content-Type', 'application/json')
      .send('{"email": "a@b.c",')
      .expect(400);
    expect(res.body).toEqual({
      statusCode: 400,
      message: 'Request body is not valid JSON',
      error: 'Bad Request',
    });
    expect(res.text).not.toMatch(/at .*\.js:\d+/);
  });

  it('refuses a body over 100 kB with 413', async () => {
    const res = await t
      .http()
      .post('/health')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ padding: 'x'.repeat(200 * 1024) }))
      .expect(413);
    expect(res.body).toEqual({
      statusCode: 413,
      message: 'Request body is larger than 100kb',
      error: 'Payload Too Large',
    });
  });

  it('gives each response a request id and keeps a safe incoming one', async () => {
    const generated = await t.http().get('/health');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await t.http().get('/health').set('X-Request-Id', 'trace-123');
    expect(kept.headers['x-request-id']).toBe('trace-123');
    const unsafe = await t.http().get('/health').set('X-Request-Id', 'spaces and <junk>');
    expect(unsafe.headers['x-request-id']).not.toContain('junk');
  });

  it('sets security headers', async () => {
    const res = await t.http().get('/health');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('answers CORS with credentials for an allowed origin only', async () => {
    const allowed = await t
      .http()
      .options('/health')
      .set('Origin', ALLOWED_ORIGIN)
      .set('Access-Control-Request-Method', 'POST');
    expect(allowed.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');

    const foreign = await t
      .http()
      .options('/health')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('/metrics with METRICS_TOKEN set', () => {
  const token = 'metrics-token-for-app-e2e';
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ METRICS_TOKEN: token });
  });
  afterAll(() => t.close());

  it('needs Authorization: Bearer with that token, outside production too', async () => {
    for (const authorization of [undefined, 'Bearer not-the-metrics-token', `Basic ${token}`]) {
      const request = t.http().get('/metrics');
      const res = await (authorization ? request.set('Authorization', authorization) : request);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      expect(res.text).not.toContain('process_cpu_user_seconds_total');
    }
    const scraped = await t.http().get('/metrics').set('Authorization', `Bearer ${token}`);
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('process_cpu_user_seconds_total');
  });
});

describe('production without METRICS_TOKEN or DOCS_ENABLED', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      NODE_ENV: 'production',
      JWT_SECRET: randomBytes(48).toString('base64'),
      MAIL_ALLOW_LOG_TRANSPORT: 'true',
      SESSION_COOKIE_SECURE: 'false',
    });
  });
  afterAll(() => t.close());

  it('answers /metrics and the docs as routes that do not exist', async () => {
    for (const path of ['/metrics', '/docs', '/docs/json']) {
      const res = await t.http().get(path).set('Authorization', 'Bearer anything');
      expect(res.body).toEqual({
        statusCode: 404,
        message: `Cannot GET ${path}`,
        error: 'Not Found',
      });
    }
  });
});

describe('health when Redis is down', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers 503 naming Redis as down', async () => {
    await t.app.get<RedisStore>(REDIS_STORE).close();
    const res = await t.http().get('/health').expect(503);
    expect(res.body).toEqual({ status: 'error', db: 'up', redis: 'down' });
  });
});

describe('JWKS', () => {
  it('publishes no keys for HS256', async () => {
    const t = await startTestApp();
    try {
      const res = await t.http().get('/.well-known/jwks.json').expect(200);
      expect(res.body).toEqual({ keys: [] });
    } finally {
      await t.close();
    }
  });

  it('publishes the public key for ES256, without private parts', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const t = await startTestApp({
      JWT_ALGORITHM: 'ES256',
      JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    try {
      const res = await t.http().get('/.well-known/jwks.json').expect(200);
      expect(res.body.keys).toHaveLength(1);
      expect(res.body.keys[0]).toMatchObject({
        kty: 'EC',
        crv: 'P-256',
        alg: 'ES256',
        use: 'sig',
      });
      expect(res.body.keys[0].d).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
