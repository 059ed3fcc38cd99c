import { createHash, randomBytes, randomInt } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * One OAuth 2.0 provider played on loopback, answering as its documentation describes: the
 * authorization endpoint redirects straight back (the user is already signed in and consents), the
 * token endpoint checks the client, the code, the redirect_uri and the PKCE verifier, and the
 * profile endpoints answer in the provider's own shape, with only the fields the granted scope and
 * the request ask for. The provider's documented paths are served on one origin, so the app is
 * pointed here by replacing the origin of its documented URLs. Every request is recorded.
 */
export const FAKE_PROVIDERS = ['google', 'github', 'facebook', 'x', 'vk', 'yandex'] as const;
export type FakeProviderName = (typeof FAKE_PROVIDERS)[number];

type Json = Record<string, unknown>;

/** A provider user, before a provider's own shape is put on them. */
export interface FakePerson {
  /** Digits; GitHub and VK send the id as a number, the others as a string. */
  id: string;
  firstName: string;
  lastName: string;
  login: string;
  /** What the provider builds its picture URL from (Yandex: `default_avatar_id`). */
  avatar: string;
  email: string | null;
  /** What the provider says of the email: Google's `email_verified`, GitHub's `verified`. */
  emailVerified: boolean;
}

/** A person no other test uses. */
export function newPerson(overrides: Partial<FakePerson> = {}): FakePerson {
  const tag = randomBytes(4).toString('hex');
  return {
    id: String(randomInt(1_000_000_000, 2 ** 47)),
    firstName: 'Ada',
    lastName: `Person ${tag}`,
    login: `ada-${tag}`,
    avatar: `${randomInt(10_000, 99_999)}/${randomBytes(12).toString('base64url')}-1`,
    email: `person-${tag}@example.test`,
    emailVerified: true,
    ...overrides,
  };
}

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  /** The form body (empty for a request without one). */
  body: URLSearchParams;
  status?: number;
  /** What the fake answered (parsed), for expectations drawn from the provider's own words. */
  answer?: unknown;
}

export interface ApiRequest extends RecordedRequest {
  /** How the access token reached the provider, as the provider accepts it. */
  token: { via: 'bearer' | 'oauth' | 'query' | 'body'; value: string } | null;
}

interface Grant {
  person: FakePerson;
  redirectUri: string;
  scope: string[];
  challenge: string | null;
}

const CLIENT_AUTH_BASIC: ReadonlySet<FakeProviderName> = new Set(['x']);
/** X refuses an authorization request without PKCE; the others accept one either way. */
const PKCE_REQUIRED: ReadonlySet<FakeProviderName> = new Set(['x']);
const SCOPE_SEPARATOR: Record<FakeProviderName, RegExp> = {
  google: / /,
  github: /[ ,]/,
  facebook: /,/,
  x: / /,
  vk: /,/,
  yandex: / /,
};

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
const token = (bytes = 24) => randomBytes(bytes).toString('base64url');
const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));

export class FakeProvider {
  readonly clientId: string;
  readonly clientSecret: string;
  baseUrl = '';
  /** Who is signed in at the provider: the next authorization is theirs. */
  person: FakePerson = newPerson();
  /** The token endpoint answers 500, as an outage does. */
  tokenOutage = false;
  /** The token endpoint refuses every code, as the provider documents a refusal. */
  refuseCodes = false;
  /** The profile comes without the user id. */
  profileWithoutId = false;

  readonly authorizations: URLSearchParams[] = [];
  readonly tokenRequests: RecordedRequest[] = [];
  readonly apiRequests: ApiRequest[] = [];

  private readonly grants = new Map<string, Grant>();
  private readonly tokens = new Map<string, Grant>();
  private readonly server: Server;

  constructor(readonly name: FakeProviderName) {
    this.clientId = `${name}-client-${randomBytes(4).toString('hex')}`;
    // Characters that form encoding changes, so that the Basic header's encoding is exercised.
    this.clientSecret = `${name} secret:${token(9)}/+=`;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, { message: String(error) });
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** A documented endpoint URL with this fake's origin instead of the provider's. */
  rebase(documentedUrl: string): string {
    const url = new URL(documentedUrl);
    return `${this.baseUrl}${url.pathname}${url.search}`;
  }

  /** Forgets the records and the failures asked for; a new person is signed in. */
  reset(person: FakePerson = newPerson()): void {
    this.person = person;
    this.tokenOutage = false;
    this.refuseCodes = false;
    this.profileWithoutId = false;
    this.authorizations.length = 0;
    this.tokenRequests.length = 0;
    this.apiRequests.length = 0;
  }

  // ------------------------------------------------------------------------------------ routing

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const body = new URLSearchParams(await readBody(req));
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      url,
      headers: req.headers,
      body,
    };
    const path = url.pathname;
    const get = req.method === 'GET';
    const post = req.method === 'POST';
    switch (this.name) {
      case 'google':
        if (get && path === '/o/oauth2/v2/auth') return this.authorize(url, res);
        if (post && path === '/token') return this.exchange(recorded, res);
        if ((get || post) && path === '/v1/userinfo') return this.api(recorded, res);
        break;
      case 'github':
        if (get && path === '/login/oauth/authorize') return this.authorize(url, res);
        if (post && path === '/login/oauth/access_token') return this.exchange(recorded, res);
        if (get && (path === '/user' || path === '/user/emails')) return this.api(recorded, res);
        break;
      case 'facebook':
        if (get && /^\/v\d+\.\d+\/dialog\/oauth$/.test(path)) return this.authorize(url, res);
        if ((get || post) && /^\/v\d+\.\d+\/oauth\/access_token$/.test(path)) {
          return this.exchange(recorded, res);
        }
        if (get && /^\/v\d+\.\d+\/me$/.test(path)) return this.api(recorded, res);
        break;
      case 'x':
        if (get && path === '/i/oauth2/authorize') return this.authorize(url, res);
        if (post && path === '/2/oauth2/token') return this.exchange(recorded, res);
        if (get && path === '/2/users/me') return this.api(recorded, res);
        break;
      case 'vk':
        if (get && path === '/authorize') return this.authorize(url, res);
        if ((get || post) && path === '/access_token') return this.exchange(recorded, res);
        if ((get || post) && path === '/method/users.get') return this.api(recorded, res);
        break;
      case 'yandex':
        if (get && path === '/authorize') return this.authorize(url, res);
        if (post && path === '/token') return this.exchange(recorded, res);
        if ((get || post) && path === '/info') return this.api(recorded, res);
        break;
    }
    send(res, 404, { message: 'Not Found' });
  }

  // ------------------------------------------------------------------------- authorization

  private authorize(url: URL, res: ServerResponse): void {
    const query = url.searchParams;
    this.authorizations.push(query);
    const redirectUri = query.get('redirect_uri');
    // Providers show their own error page, not a redirect, for an unknown client or callback.
    if (query.get('client_id') !== this.clientId || !redirectUri) {
      return void res.writeHead(400, { 'Content-Type': 'text/plain' }).end('invalid client');
    }
    const back = new URL(redirectUri);
    const state = query.get('state');
    if (state !== null) back.searchParams.set('state', state);
    const challenge = query.get('code_challenge');
    const method = query.get('code_challenge_method');
    const refusal =
      query.get('response_type') !== 'code'
        ? 'unsupported_response_type'
        : challenge === null && PKCE_REQUIRED.has(this.name)
          ? 'invalid_request'
          : challenge !== null && method !== 'S256'
            ? 'invalid_request'
            : null;
    if (refusal) {
      back.searchParams.set('error', refusal);
      return void res.writeHead(302, { Location: back.href }).end();
    }
    // Google's codes look like `4/0A…`: a slash the redirect must carry encoded.
    const code = this.name === 'google' ? `4/0A${token()}` : token(15);
    this.grants.set(code, {
      person: this.person,
      redirectUri,
      scope: (query.get('scope') ?? '').split(SCOPE_SEPARATOR[this.name]).filter(Boolean),
      challenge,
    });
    back.searchParams.set('code', code);
    res.writeHead(302, { Location: back.href }).end();
  }

  // --------------------------------------------------------------------------- token endpoint

  private exchange(recorded: RecordedRequest, res: ServerResponse): void {
    this.tokenRequests.push(recorded);
    const answer = (status: number, body: Json) => {
      recorded.status = status;
      recorded.answer = body;
      send(res, status, body);
    };
    if (this.tokenOutage) {
      recorded.status = 500;
      return void res.writeHead(500, { 'Content-Type': 'text/html' }).end('<h1>Server Error</h1>');
    }
    const params = new URLSearchParams([...recorded.url.searchParams, ...recorded.body]);
    const code = params.get('code') ?? '';
    const grant = this.grants.get(code);
    this.grants.delete(code);
    const verifier = params.get('code_verifier');
    const refusal =
      this.clientRefusal(recorded, params) ??
      (this.refuseCodes || !grant
        ? 'invalid_grant'
        : this.name !== 'vk' && params.get('grant_type') !== 'authorization_code'
          ? 'unsupported_grant_type'
          : params.get('redirect_uri') !== grant.redirectUri
            ? 'redirect_uri_mismatch'
            : grant.challenge !== null && (!verifier || s256(verifier) !== grant.challenge)
              ? 'invalid_grant'
              : null);
    if (refusal) return answer(...this.tokenError(refusal));

    const accessToken =
      this.name === 'github'
        ? `gho_${token(27)}`
        : this.name === 'yandex'
          ? `y0_${token()}`
          : token();
    this.tokens.set(accessToken, grant!);
    const response = this.tokenResponse(accessToken, grant!);
    // GitHub answers form-encoded unless the request asks for JSON.
    const accept = String(recorded.headers.accept ?? '');
    if (this.name === 'github' && !accept.includes('application/json')) {
      recorded.status = 200;
      recorded.answer = response;
      const form = new URLSearchParams(response as Record<string, string>).toString();
      return void res
        .writeHead(200, { 'Content-Type': 'application/x-www-form-urlencoded' })
        .end(form);
    }
    answer(200, response);
  }

  /** Why the client's authentication was refused, if it was: Basic for X, the body for the others. */
  private clientRefusal(recorded: RecordedRequest, params: URLSearchParams): string | null {
    if (CLIENT_AUTH_BASIC.has(this.name)) {
      const credentials = basicCredentials(recorded.headers.authorization);
      return credentials?.id === this.clientId && credentials.secret === this.clientSecret
        ? null
        : 'invalid_client';
    }
    return params.get('client_id') === this.clientId &&
      params.get('client_secret') === this.clientSecret
      ? null
      : 'invalid_client';
  }

  /** Each provider's documented refusal: status and body. */
  private tokenError(error: string): [number, Json] {
    switch (this.name) {
      case 'github':
        // GitHub answers its token errors with 200 and an `error` field.
        return [
          200,
          {
            error: error === 'invalid_grant' ? 'bad_verification_code' : error,
            error_description: 'The code passed is incorrect or expired.',
            error_uri:
              'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code',
          },
        ];
      case 'facebook':
        return [
          400,
          {
            error: {
              message: 'This authorization code has expired.',
              type: 'OAuthException',
              code: 100,
              fbtrace_id: token(9),
            },
          },
        ];
      case 'vk':
        return [401, { error, error_description: 'Code is invalid or expired.' }];
      default:
        return [error === 'invalid_client' ? 401 : 400, { error, error_description: error }];
    }
  }

  private tokenResponse(accessToken: string, grant: Grant): Json {
    const { person, scope } = grant;
    switch (this.name) {
      case 'google':
        return {
          access_token: accessToken,
          expires_in: 3599,
          scope: scope
            .map((s) => (s === 'openid' ? s : `https://www.googleapis.com/auth/userinfo.${s}`))
            .join(' '),
          token_type: 'Bearer',
          id_token: [
            b64json({ alg: 'RS256', kid: token(8), typ: 'JWT' }),
            b64json({ iss: 'https://accounts.google.com', aud: this.clientId, sub: person.id }),
            token(64),
          ].join('.'),
        };
      case 'github':
        return { access_token: accessToken, scope: scope.join(','), token_type: 'bearer' };
      case 'facebook':
        return { access_token: accessToken, token_type: 'bearer', expires_in: 5_183_944 };
      case 'x':
        return {
          token_type: 'bearer',
          expires_in: 7200,
          access_token: accessToken,
          scope: scope.join(' '),
        };
      case 'vk':
        return {
          access_token: accessToken,
          expires_in: 86_400,
          user_id: Number(person.id),
          ...(scope.includes('email') && person.email ? { email: person.email } : {}),
        };
      case 'yandex':
        return {
          access_token: accessToken,
          expires_in: 31_536_000,
          refresh_token: `1:${token()}`,
          token_type: 'bearer',
        };
    }
  }

  // ------------------------------------------------------------------------------- profile API

  private api(recorded: RecordedRequest, res: ServerResponse): void {
    const request: ApiRequest = { ...recorded, token: presentedToken(this.name, recorded) };
    this.apiRequests.push(request);
    const answer = (status: number, body: unknown) => {
      request.status = status;
      request.answer = body;
      send(res, status, body);
    };
    const grant = request.token ? this.tokens.get(request.token.value) : undefined;
    const params = new URLSearchParams([...recorded.url.searchParams, ...recorded.body]);
    const path = recorded.url.pathname;
    switch (this.name) {
      case 'google':
        if (!grant)
          return answer(401, {
            error: 'invalid_request',
            error_description: 'Invalid Credentials',
          });
        return answer(200, this.withoutId(googleClaims(grant), 'sub'));
      case 'github': {
        if (!grant)
          return answer(401, {
            message: 'Requires authentication',
            documentation_url: 'https://docs.github.com/rest',
            status: '401',
          });
        // GitHub refuses API requests without a User-Agent.
        if (!recorded.headers['user-agent'])
          return answer(403, {
            message:
              'Request forbidden by administrative rules. Please make sure your request has a User-Agent header.',
          });
        if (path === '/user') return answer(200, this.withoutId(githubUser(grant.person), 'id'));
        if (!grant.scope.includes('user:email'))
          return answer(404, {
            message: 'Not Found',
            documentation_url: 'https://docs.github.com/rest/users/emails',
            status: '404',
          });
        return answer(200, githubEmails(grant.person));
      }
      case 'facebook':
        if (!grant)
          return answer(400, {
            error: {
              message: 'Invalid OAuth access token - Cannot parse access token',
              type: 'OAuthException',
              code: 190,
              fbtrace_id: token(9),
            },
          });
        return answer(200, this.withoutId(facebookUser(grant, params.get('fields')), 'id'));
      case 'x': {
        if (!grant)
          return answer(401, {
            title: 'Unauthorized',
            type: 'about:blank',
            status: 401,
            detail: 'Unauthorized',
          });
        const fields = (params.get('user.fields') ?? '').split(',');
        const { person } = grant;
        const data: Json = {
          id: person.id,
          name: `${person.firstName} ${person.lastName}`,
          username: person.login,
        };
        if (fields.includes('profile_image_url'))
          data.profile_image_url = `https://pbs.twimg.com/profile_images/${person.avatar}/photo_normal.jpg`;
        return answer(200, { data: this.withoutId(data, 'id') });
      }
      case 'vk': {
        // The VK API answers its errors with 200 and an `error` object.
        const vkError = (code: number, message: string) =>
          answer(200, {
            error: {
              error_code: code,
              error_msg: message,
              request_params: [...params]
                .filter(([name]) => name !== 'access_token')
                .map(([key, value]) => ({ key, value })),
            },
          });
        if (!grant) return vkError(5, 'User authorization failed: no access_token passed.');
        if (!params.get('v')) return vkError(8, 'Invalid request: v (version) is required');
        const fields = (params.get('fields') ?? '').split(',');
        const { person } = grant;
        const user: Json = {
          id: Number(person.id),
          first_name: person.firstName,
          last_name: person.lastName,
          can_access_closed: true,
          is_closed: false,
        };
        if (fields.includes('photo_200'))
          user.photo_200 = `https://sun9-1.userapi.com/s/v1/ig2/${person.avatar}.jpg?size=200x200&quality=96&crop=0,0,200,200&ava=1`;
        return answer(200, { response: [this.withoutId(user, 'id')] });
      }
      case 'yandex': {
        if (!grant)
          return void res.writeHead(401, { 'Content-Type': 'text/plain' }).end('invalid token');
        const format = params.get('format') ?? 'json';
        if (format !== 'json') return answer(400, { error: `format ${format} is not served here` });
        return answer(200, this.withoutId(yandexInfo(grant, this.clientId), 'id'));
      }
    }
  }

  private withoutId(document: Json, idField: string): Json {
    if (!this.profileWithoutId) return document;
    const rest = { ...document };
    delete rest[idField];
    return rest;
  }
}

// ------------------------------------------------------------------ each provider's documents

/** Google's UserInfo claims (OpenID Connect standard claims), by the scopes granted. */
function googleClaims({ person, scope }: Grant): Json {
  const claims: Json = { sub: person.id };
  if (scope.includes('profile')) {
    Object.assign(claims, {
      name: `${person.firstName} ${person.lastName}`,
      given_name: person.firstName,
      family_name: person.lastName,
      picture: `https://lh3.googleusercontent.com/a/${person.avatar}=s96-c`,
    });
  }
  if (scope.includes('email') && person.email) {
    Object.assign(claims, { email: person.email, email_verified: person.emailVerified });
  }
  return claims;
}

/** GitHub's authenticated user: `email` is the public address, which may be null. */
function githubUser(person: FakePerson): Json {
  const id = Number(person.id);
  return {
    login: person.login,
    id,
    node_id: Buffer.from(`04:User${id}`).toString('base64'),
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url: `https://api.github.com/users/${person.login}`,
    html_url: `https://github.com/${person.login}`,
    type: 'User',
    site_admin: false,
    name: `${person.firstName} ${person.lastName}`,
    company: null,
    blog: '',
    location: null,
    email: person.email,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: 2,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: '2011-01-25T18:44:36Z',
    updated_at: '2026-01-01T00:00:00Z',
  };
}

/** GitHub's `/user/emails`: the primary address (verified or not) and the always-verified noreply one. */
function githubEmails(person: FakePerson): Json[] {
  const noreply = {
    email: `${person.id}+${person.login}@users.noreply.github.com`,
    primary: false,
    verified: true,
    visibility: null,
  };
  if (!person.email) return [{ ...noreply, primary: true }];
  return [
    { email: person.email, primary: true, verified: person.emailVerified, visibility: 'public' },
    noreply,
  ];
}

/** Graph's User node with the fields asked for (`id,name` when none are); `email` needs its permission. */
function facebookUser({ person, scope }: Grant, fields: string | null): Json {
  const asked = (fields ?? 'id,name').split(',');
  const user: Json = {};
  for (const field of asked) {
    const [name, modifier] = field.split('.');
    if (name === 'id') user.id = person.id;
    if (name === 'name') user.name = `${person.firstName} ${person.lastName}`;
    if (name === 'first_name') user.first_name = person.firstName;
    if (name === 'last_name') user.last_name = person.lastName;
    if (name === 'email' && scope.includes('email') && person.email) user.email = person.email;
    if (name === 'picture') {
      const size = modifier === 'type(large)' ? 200 : 50;
      user.picture = {
        data: {
          height: size,
          is_silhouette: false,
          url: `https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=${person.id}&height=${size}&width=${size}&ext=1767225600&hash=${encodeURIComponent(person.avatar)}`,
          width: size,
        },
      };
    }
  }
  return user;
}

/** Yandex ID's `login.yandex.ru/info`, with the parts each granted scope opens. */
function yandexInfo({ person, scope }: Grant, clientId: string): Json {
  const info: Json = {
    id: person.id,
    login: person.login,
    client_id: clientId,
    psuid: `1.${token(16)}`,
  };
  if (scope.includes('login:info')) {
    Object.assign(info, {
      display_name: person.login,
      real_name: `${person.firstName} ${person.lastName}`,
      first_name: person.firstName,
      last_name: person.lastName,
      sex: null,
    });
  }
  if (scope.includes('login:email') && person.email) {
    Object.assign(info, { default_email: person.email, emails: [person.email] });
  }
  if (scope.includes('login:avatar')) {
    Object.assign(info, { default_avatar_id: person.avatar, is_avatar_empty: false });
  }
  return info;
}

/** The access token as each provider accepts it on its profile API. */
function presentedToken(name: FakeProviderName, recorded: RecordedRequest): ApiRequest['token'] {
  const header = String(recorded.headers.authorization ?? '');
  const scheme = /^(\w+) (.+)$/.exec(header);
  switch (name) {
    case 'google':
    case 'x':
      return scheme?.[1] === 'Bearer' ? { via: 'bearer', value: scheme[2] } : null;
    case 'github':
      return scheme && ['Bearer', 'token'].includes(scheme[1])
        ? { via: 'bearer', value: scheme[2] }
        : null;
    case 'yandex':
      return scheme?.[1] === 'OAuth' ? { via: 'oauth', value: scheme[2] } : null;
    case 'facebook':
    case 'vk': {
      const inQuery = recorded.url.searchParams.get('access_token');
      if (inQuery) return { via: 'query', value: inQuery };
      const inBody = recorded.body.get('access_token');
      if (inBody) return { via: 'body', value: inBody };
      return name === 'facebook' && scheme?.[1] === 'Bearer'
        ? { via: 'bearer', value: scheme[2] }
        : null;
    }
  }
}

function b64json(value: Json): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
    .end(JSON.stringify(body));
}

/**
 * The client id and secret of a Basic header, each form-decoded as RFC 6749 (section 2.3.1) has
 * them encoded; null for another scheme.
 */
export function basicCredentials(
  header: string | undefined,
): { id: string; secret: string } | null {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}
