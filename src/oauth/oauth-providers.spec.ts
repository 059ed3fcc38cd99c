import type {
  FetchJson,
  FetchJsonInit,
  OAuth2ProviderDefinition,
  OAuth2ProviderName,
  TokenResponse,
} from './oauth-provider';
import { OAUTH2_PROVIDERS } from './oauth-provider';
import {
  FACEBOOK_GRAPH_VERSION,
  GITHUB_USER_AGENT,
  OAUTH2_PROVIDER_DEFINITIONS,
  VK_API_VERSION,
} from './oauth-providers';

const TOKEN = 'access-token-0123456789';

/** A copy of a documented answer without one of its fields. */
function without<T extends object>(value: T, key: keyof T): Partial<T> {
  const copy: Partial<T> = { ...value };
  delete copy[key];
  return copy;
}

interface Request {
  url: string;
  init?: FetchJsonInit;
}

/** Answers each URL with its body; any other URL fails the test as a provider would with a 404. */
function fakeProvider(answers: Record<string, unknown>): {
  fetchJson: FetchJson;
  requests: Request[];
} {
  const requests: Request[] = [];
  const fetchJson: FetchJson = async (url, init) => {
    requests.push({ url, init });
    if (!(url in answers)) throw new Error(`unexpected request to ${url}`);
    return answers[url];
  };
  return { fetchJson, requests };
}

function read(
  provider: OAuth2ProviderName,
  answers: Record<string, unknown>,
  options: { tokens?: TokenResponse; userinfoUrl?: string } = {},
) {
  const definition = OAUTH2_PROVIDER_DEFINITIONS[provider];
  const { fetchJson, requests } = fakeProvider(answers);
  const result = definition.fetchProfile(
    fetchJson,
    options.userinfoUrl ?? definition.userinfoUrl,
    TOKEN,
    options.tokens ?? { access_token: TOKEN },
  );
  return { result, requests };
}

describe('OAUTH2_PROVIDER_DEFINITIONS', () => {
  it('defines every OAuth 2.0 provider under its own name, over HTTPS', () => {
    expect(Object.keys(OAUTH2_PROVIDER_DEFINITIONS).sort()).toEqual([...OAUTH2_PROVIDERS].sort());
    for (const [name, definition] of Object.entries(OAUTH2_PROVIDER_DEFINITIONS)) {
      expect(definition.name).toBe(name);
      for (const url of [
        definition.authorizationUrl,
        definition.tokenUrl,
        definition.userinfoUrl,
      ]) {
        expect(new URL(url).protocol).toBe('https:');
      }
    }
    expect(Object.isFrozen(OAUTH2_PROVIDER_DEFINITIONS)).toBe(true);
  });

  it.each(OAUTH2_PROVIDERS)('%s: a body that is not an object gives no profile', async (name) => {
    const definition: OAuth2ProviderDefinition = OAUTH2_PROVIDER_DEFINITIONS[name];
    for (const body of [null, 'text', 42, []]) {
      const fetchJson: FetchJson = async () => body;
      await expect(
        definition.fetchProfile(fetchJson, definition.userinfoUrl, TOKEN, {}),
      ).resolves.toBeNull();
    }
  });

  it.each(OAUTH2_PROVIDERS)('%s: a transport error propagates', async (name) => {
    const definition = OAUTH2_PROVIDER_DEFINITIONS[name];
    const fetchJson: FetchJson = async () => {
      throw new Error('provider timed out');
    };
    await expect(
      definition.fetchProfile(fetchJson, definition.userinfoUrl, TOKEN, {}),
    ).rejects.toThrow('provider timed out');
  });
});

describe('google', () => {
  const google = OAUTH2_PROVIDER_DEFINITIONS.google;
  const userinfo = 'https://openidconnect.googleapis.com/v1/userinfo';
  // Claims as in the ID token / UserInfo example of
  // https://developers.google.com/identity/openid-connect/openid-connect#an-id-tokens-payload
  const answer = {
    sub: '110169484474386276334',
    name: 'Jane Doe',
    given_name: 'Jane',
    family_name: 'Doe',
    picture: 'https://lh3.googleusercontent.com/a/ACg8ocJ-example=s96-c',
    email: 'Jane.Doe@Example.com',
    email_verified: true,
    locale: 'en',
  };

  it('is OpenID Connect with PKCE, client credentials in the body', () => {
    expect(google).toMatchObject({
      authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
      tokenUrl: 'https://oauth2.googleapis.com/token',
      userinfoUrl: userinfo,
      scope: ['openid', 'email', 'profile'],
      scopeSeparator: ' ',
      pkce: true,
      basicAuth: false,
    });
  });

  it('maps the UserInfo claims, reading them with a bearer token', async () => {
    const { result, requests } = read('google', { [userinfo]: answer });
    await expect(result).resolves.toEqual({
      providerId: '110169484474386276334',
      email: 'Jane.Doe@Example.com',
      emailVerified: true,
      name: 'Jane Doe',
      pic: 'https://lh3.googleusercontent.com/a/ACg8ocJ-example=s96-c',
    });
    expect(requests).toEqual([
      { url: userinfo, init: { headers: { Authorization: `Bearer ${TOKEN}` } } },
    ]);
  });

  it('keeps an address Google has not verified, as unverified', async () => {
    const { result } = read('google', { [userinfo]: { ...answer, email_verified: false } });
    await expect(result).resolves.toMatchObject({
      email: 'Jane.Doe@Example.com',
      emailVerified: false,
    });
  });

  it('gives nulls for the claims a minimal scope leaves out', async () => {
    const { result } = read('google', { [userinfo]: { sub: '42' } });
    await expect(result).resolves.toEqual({
      providerId: '42',
      email: null,
      emailVerified: false,
      name: null,
      pic: null,
    });
  });

  it('gives no profile without a subject', async () => {
    const withoutSub = without(answer, 'sub');
    await expect(read('google', { [userinfo]: withoutSub }).result).resolves.toBeNull();
    await expect(read('google', { [userinfo]: { ...answer, sub: '' } }).result).resolves.toBeNull();
  });
});

describe('github', () => {
  const github = OAUTH2_PROVIDER_DEFINITIONS.github;
  const user = 'https://api.github.com/user';
  const emails = 'https://api.github.com/user/emails';
  // https://docs.github.com/en/rest/users/users#get-the-authenticated-user (abridged)
  const userAnswer = {
    login: 'octocat',
    id: 1,
    node_id: 'MDQ6VXNlcjE=',
    avatar_url: 'https://github.com/images/error/octocat_happy.gif',
    type: 'User',
    name: 'monalisa octocat',
    email: 'octocat@github.com',
  };
  // https://docs.github.com/en/rest/users/emails#list-email-addresses-for-the-authenticated-user
  const emailsAnswer = [
    { email: 'Octocat@GitHub.com', verified: true, primary: true, visibility: 'public' },
    { email: 'octocat@example.com', verified: true, primary: false, visibility: null },
  ];
  const headers = {
    Authorization: `Bearer ${TOKEN}`,
    Accept: 'application/vnd.github+json',
    'User-Agent': GITHUB_USER_AGENT,
  };

  it('asks the token endpoint for JSON, with PKCE', () => {
    expect(github).toMatchObject({
      authorizationUrl: 'https://github.com/login/oauth/authorize',
      tokenUrl: 'https://github.com/login/oauth/access_token',
      userinfoUrl: user,
      scope: ['read:user', 'user:email'],
      scopeSeparator: ' ',
      pkce: true,
      basicAuth: false,
      tokenHeaders: { Accept: 'application/json' },
    });
  });

  it('takes the primary verified address from /user/emails, with a User-Agent on each call', async () => {
    const { result, requests } = read('github', { [user]: userAnswer, [emails]: emailsAnswer });
    await expect(result).resolves.toEqual({
      providerId: '1',
      email: 'Octocat@GitHub.com',
      emailVerified: true,
      name: 'monalisa octocat',
      pic: 'https://github.com/images/error/octocat_happy.gif',
    });
    expect(requests).toEqual([
      { url: user, init: { headers } },
      { url: emails, init: { headers } },
    ]);
  });

  it('gives an unverified address when the primary one is not verified', async () => {
    const { result } = read('github', {
      [user]: userAnswer,
      [emails]: [
        { email: 'primary@example.com', verified: false, primary: true, visibility: 'private' },
        { email: 'other@example.com', verified: true, primary: false, visibility: null },
      ],
    });
    await expect(result).resolves.toMatchObject({
      email: 'primary@example.com',
      emailVerified: false,
    });
  });

  it('falls back to the unverified public email, or none', async () => {
    const fallback = read('github', { [user]: userAnswer, [emails]: [] }).result;
    await expect(fallback).resolves.toMatchObject({
      email: 'octocat@github.com',
      emailVerified: false,
    });
    const none = read('github', { [user]: { ...userAnswer, email: null }, [emails]: [] }).result;
    await expect(none).resolves.toMatchObject({ email: null, emailVerified: false });
  });

  it('names the user by login when the profile has no name', async () => {
    const { result } = read('github', {
      [user]: { ...userAnswer, name: null, avatar_url: null },
      [emails]: emailsAnswer,
    });
    await expect(result).resolves.toMatchObject({ name: 'octocat', pic: null });
  });

  it('reads the emails beside an overridden user URL', async () => {
    const enterprise = 'https://github.example.test/api/v3/user';
    const { result, requests } = read(
      'github',
      { [enterprise]: userAnswer, [`${enterprise}/emails`]: emailsAnswer },
      { userinfoUrl: enterprise },
    );
    await expect(result).resolves.toMatchObject({ providerId: '1', emailVerified: true });
    expect(requests.map((r) => r.url)).toEqual([enterprise, `${enterprise}/emails`]);
  });

  it('gives no profile without an id, and does not ask for emails then', async () => {
    const withoutId = without(userAnswer, 'id');
    const { result, requests } = read('github', { [user]: withoutId, [emails]: emailsAnswer });
    await expect(result).resolves.toBeNull();
    expect(requests.map((r) => r.url)).toEqual([user]);
  });
});

describe('facebook', () => {
  const facebook = OAUTH2_PROVIDER_DEFINITIONS.facebook;
  const me = `https://graph.facebook.com/${FACEBOOK_GRAPH_VERSION}/me?fields=id,name,email,picture.type(large)`;
  const meWithToken = `${me}&access_token=${TOKEN}`;
  // Fields of https://developers.facebook.com/docs/graph-api/reference/user/ with the picture of
  // https://developers.facebook.com/docs/graph-api/reference/user/picture/
  const answer = {
    id: '10224567890123456',
    name: 'Jane Doe',
    email: 'Jane@Example.com',
    picture: {
      data: {
        height: 200,
        is_silhouette: false,
        url: 'https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10224567890123456',
        width: 200,
      },
    },
  };

  it('uses one Graph API version throughout, without PKCE', () => {
    expect(FACEBOOK_GRAPH_VERSION).toMatch(/^v\d+\.0$/);
    expect(facebook).toMatchObject({
      authorizationUrl: `https://www.facebook.com/${FACEBOOK_GRAPH_VERSION}/dialog/oauth`,
      tokenUrl: `https://graph.facebook.com/${FACEBOOK_GRAPH_VERSION}/oauth/access_token`,
      userinfoUrl: me,
      scope: ['email', 'public_profile'],
      scopeSeparator: ',',
      pkce: false,
      basicAuth: false,
    });
  });

  it('maps /me, passing the token as access_token, the email as unverified', async () => {
    const { result, requests } = read('facebook', { [meWithToken]: answer });
    await expect(result).resolves.toEqual({
      providerId: '10224567890123456',
      email: 'Jane@Example.com',
      emailVerified: false,
      name: 'Jane Doe',
      pic: 'https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10224567890123456',
    });
    expect(requests).toEqual([{ url: meWithToken, init: undefined }]);
  });

  it('leaves out the default silhouette and a missing email', async () => {
    const withoutEmail = without(answer, 'email');
    const silhouette = { data: { ...answer.picture.data, is_silhouette: true } };
    const { result } = read('facebook', {
      [meWithToken]: { ...withoutEmail, picture: silhouette },
    });
    await expect(result).resolves.toEqual({
      providerId: '10224567890123456',
      email: null,
      emailVerified: false,
      name: 'Jane Doe',
      pic: null,
    });
  });

  it('gives no profile without an id', async () => {
    const withoutId = without(answer, 'id');
    await expect(read('facebook', { [meWithToken]: withoutId }).result).resolves.toBeNull();
  });
});

describe('x', () => {
  const x = OAUTH2_PROVIDER_DEFINITIONS.x;
  const me = 'https://api.x.com/2/users/me?user.fields=profile_image_url';
  // https://docs.x.com/x-api/users/get-my-user
  const answer = {
    data: {
      id: '2244994945',
      name: 'X Dev',
      username: 'TwitterDev',
      profile_image_url:
        'https://pbs.twimg.com/profile_images/1445764922474827784/W2zEPN7U_normal.jpg',
    },
  };

  it('requires PKCE and authenticates the client with HTTP Basic', () => {
    expect(x).toMatchObject({
      authorizationUrl: 'https://x.com/i/oauth2/authorize',
      tokenUrl: 'https://api.x.com/2/oauth2/token',
      userinfoUrl: me,
      scope: ['users.read', 'tweet.read'],
      scopeSeparator: ' ',
      pkce: true,
      basicAuth: true,
    });
  });

  it('maps /2/users/me, which has no email', async () => {
    const { result, requests } = read('x', { [me]: answer });
    await expect(result).resolves.toEqual({
      providerId: '2244994945',
      email: null,
      emailVerified: false,
      name: 'X Dev',
      pic: 'https://pbs.twimg.com/profile_images/1445764922474827784/W2zEPN7U_normal.jpg',
    });
    expect(requests).toEqual([
      { url: me, init: { headers: { Authorization: `Bearer ${TOKEN}` } } },
    ]);
  });

  it('gives no profile for an answer with errors and no data', async () => {
    const errors = { errors: [{ title: 'Unauthorized', type: 'about:blank', status: 401 }] };
    await expect(read('x', { [me]: errors }).result).resolves.toBeNull();
    const withoutId = without(answer.data, 'id');
    await expect(read('x', { [me]: { data: withoutId } }).result).resolves.toBeNull();
  });
});

describe('vk', () => {
  const vk = OAUTH2_PROVIDER_DEFINITIONS.vk;
  const method = 'https://api.vk.com/method/users.get';
  // Token response of https://dev.vk.com/api/access-token/authcode-flow-user, with `email`.
  const tokens = {
    access_token: TOKEN,
    expires_in: 86400,
    user_id: 210700286,
    email: 'Ivan@Example.com',
  };
  // https://dev.vk.com/method/users.get
  const answer = {
    response: [
      {
        id: 210700286,
        first_name: 'Lindsey',
        last_name: 'Stirling',
        can_access_closed: true,
        is_closed: false,
        photo_200: 'https://sun9-1.userapi.com/s/v1/ig2/example.jpg?size=200x200',
      },
    ],
  };

  it('uses the OAuth of VKontakte, which has no PKCE', () => {
    expect(vk).toMatchObject({
      authorizationUrl: 'https://oauth.vk.com/authorize',
      tokenUrl: 'https://oauth.vk.com/access_token',
      userinfoUrl: `${method}?fields=photo_200&v=${VK_API_VERSION}`,
      scope: ['email'],
      scopeSeparator: ',',
      pkce: false,
      basicAuth: false,
      authorizationParams: { v: VK_API_VERSION },
    });
  });

  it('POSTs the token to users.get, takes the email from the token response as unverified', async () => {
    const { result, requests } = read('vk', { [method]: answer }, { tokens });
    await expect(result).resolves.toEqual({
      providerId: '210700286',
      email: 'Ivan@Example.com',
      emailVerified: false,
      name: 'Lindsey Stirling',
      pic: 'https://sun9-1.userapi.com/s/v1/ig2/example.jpg?size=200x200',
    });
    expect(requests).toHaveLength(1);
    expect(requests[0].url).toBe(method);
    expect(requests[0].init?.method).toBe('POST');
    expect(Object.fromEntries(requests[0].init?.body ?? [])).toEqual({
      fields: 'photo_200',
      v: VK_API_VERSION,
      access_token: TOKEN,
    });
  });

  it('gives a null email when the user did not share one', async () => {
    const withoutEmail = without(tokens, 'email');
    const { result } = read('vk', { [method]: answer }, { tokens: withoutEmail });
    await expect(result).resolves.toMatchObject({ email: null, emailVerified: false });
  });

  it('gives no profile for an API error or a user without an id', async () => {
    const error = { error: { error_code: 5, error_msg: 'User authorization failed' } };
    await expect(read('vk', { [method]: error }, { tokens }).result).resolves.toBeNull();
    const withoutId = without(answer.response[0], 'id');
    const noId = read('vk', { [method]: { response: [withoutId] } }, { tokens }).result;
    await expect(noId).resolves.toBeNull();
  });
});

describe('yandex', () => {
  const yandex = OAUTH2_PROVIDER_DEFINITIONS.yandex;
  const info = 'https://login.yandex.ru/info?format=json';
  // https://yandex.ru/dev/id/doc/en/user-information (sample response, abridged)
  const answer = {
    login: 'ivan',
    id: '1000034426',
    client_id: '4760187d81bc4b7799476b42b5103713',
    psuid: '1.AAceCw.tbHgw5DtJ9_zeqPrk-Ba2w.qPWSRC5v2t2IaksPJgnge',
    default_email: 'test@yandex.ru',
    emails: ['test@yandex.ru', 'other-test@yandex.ru'],
    default_avatar_id: '31804/BYkogAC6AoB17bN1HKRFAyKiM4-1',
    is_avatar_empty: false,
    first_name: 'Иван',
    last_name: 'Иванов',
    display_name: 'Ivan',
    real_name: 'Иван Иванов',
    sex: 'male',
  };

  it('supports PKCE, client credentials in the body', () => {
    expect(yandex).toMatchObject({
      authorizationUrl: 'https://oauth.yandex.ru/authorize',
      tokenUrl: 'https://oauth.yandex.ru/token',
      userinfoUrl: info,
      scope: ['login:info', 'login:email', 'login:avatar'],
      scopeSeparator: ' ',
      pkce: true,
      basicAuth: false,
    });
  });

  it('reads /info with the OAuth scheme and builds the avatar URL', async () => {
    const { result, requests } = read('yandex', { [info]: answer });
    await expect(result).resolves.toEqual({
      providerId: '1000034426',
      email: 'test@yandex.ru',
      emailVerified: false,
      name: 'Иван Иванов',
      pic: 'https://avatars.yandex.net/get-yapic/31804/BYkogAC6AoB17bN1HKRFAyKiM4-1/islands-200',
    });
    expect(requests).toEqual([
      { url: info, init: { headers: { Authorization: `OAuth ${TOKEN}` } } },
    ]);
  });

  it('skips an empty avatar and falls back to the display name', async () => {
    const withoutRealName = without(answer, 'real_name');
    const { result } = read('yandex', { [info]: { ...withoutRealName, is_avatar_empty: true } });
    await expect(result).resolves.toMatchObject({ name: 'Ivan', pic: null });
  });

  it('gives nulls without the email and avatar permissions, and no profile without an id', async () => {
    const minimal = { login: 'ivan', id: '1000034426', client_id: answer.client_id };
    await expect(read('yandex', { [info]: minimal }).result).resolves.toEqual({
      providerId: '1000034426',
      email: null,
      emailVerified: false,
      name: null,
      pic: null,
    });
    const withoutId = without(answer, 'id');
    await expect(read('yandex', { [info]: withoutId }).result).resolves.toBeNull();
  });
});
