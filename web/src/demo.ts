import { type StreamNotification, type StreamTransport, TesseraStream } from './tessera-stream.js';

/** The API's origin: `?api=` (the page may live on another origin), else this page's own. */
const api = new URLSearchParams(location.search).get('api') ?? location.origin;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let stream: TesseraStream | undefined;

/** Where the page keeps the state of a provider sign-in it started, until the browser is back. */
const OAUTH_STATE_KEY = 'tessera-oauth-state';
/** What the service adds to this page's URL on the way back from a provider. */
const RETURN_PARAMS = ['state', 'error', 'linked'];

const PROVIDER_NAMES: Record<string, string> = {
  google: 'Google',
  github: 'GitHub',
  facebook: 'Facebook',
  x: 'X',
  vk: 'VK',
  yandex: 'Yandex',
  telegram: 'Telegram',
};

/** The `error` codes of a failed provider sign-in, in words. */
const PROVIDER_ERRORS: Record<string, string> = {
  access_denied: 'Sign-in was cancelled at the provider',
  invalid_state: 'The sign-in took too long or was not started here; please try again',
  invalid_request: 'The provider’s answer could not be verified; please try again',
  provider_error: 'The provider could not complete the sign-in; please try again',
  provider_timeout: 'The provider did not answer in time; please try again',
  invalid_profile: 'The provider did not say who you are',
  account_banned: 'This account is suspended',
  account_in_use: 'That provider account belongs to another author',
  provider_already_linked: 'Another account of this provider is already linked',
  login_required: 'Sign in first',
  server_error: 'Something went wrong on the server; please try again',
};

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  // A JSON content type only with a body: a GET stays a simple request, with no preflight.
  const json: HeadersInit = init.body === undefined ? {} : { 'Content-Type': 'application/json' };
  return fetch(`${api}${path}`, { ...init, credentials: 'include', headers: json });
}

/** The error message of a refused call, whatever the body is. */
async function errorOf(response: Response): Promise<string> {
  const body = (await response.json().catch(() => null)) as { message?: unknown } | null;
  const message = Array.isArray(body?.message) ? body.message.join('; ') : body?.message;
  return typeof message === 'string' ? message : `The API answered ${response.status}`;
}

async function graphql(query: string, variables: Record<string, unknown>): Promise<unknown> {
  const response = await call('/graphql', {
    method: 'POST',
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: { message: string }[] };
  if (body.errors?.length) throw new Error(body.errors[0].message);
  return body.data;
}

function describe(notification: StreamNotification): string {
  const payload = notification.payload;
  if (notification.type === 'follower') {
    const verb = notification.action === 'delete' ? 'stopped following' : 'started following';
    return `${String(payload.follower_name)} ${verb} you`;
  }
  if (notification.type === 'shout') {
    return `${String(payload.author_name)} published “${String(payload.title)}”`;
  }
  return JSON.stringify(payload);
}

function show(notification: StreamNotification): void {
  const item = document.createElement('li');
  item.dataset.id = String(notification.id);
  item.dataset.type = notification.type;
  const type = document.createElement('span');
  type.className = 'type';
  type.textContent = notification.type;
  item.append(type, describe(notification));
  $('notifications').prepend(item);
}

function signedIn(profile: { id: number; name: string | null; email: string }): void {
  const who = profile.name ? `${profile.name} · ${profile.email}` : profile.email;
  $('who').textContent = `${who} (#${profile.id})`;
  $('sign-in').hidden = true;
  $('app').hidden = false;
  openStream();
}

/** Starts the stream over the transport the switch shows, from `lastEventId` if given. */
function openStream(lastEventId = ''): void {
  const transport = $<HTMLSelectElement>('transport').value as StreamTransport;
  stream = new TesseraStream({
    transport,
    url: transport === 'websocket' ? `${api}/graphql` : `${api}/sse/notifications`,
    onNotification: show,
    onStatus: (status) => {
      $('status').textContent = status;
      $('status').dataset.status = status;
    },
    onSignedOut: signedOut,
  });
  stream.lastEventId = lastEventId;
  stream.start();
}

function signedOut(): void {
  stream?.stop('signed-out');
  stream = undefined;
  $('notifications').replaceChildren();
  $('app').hidden = true;
  $('sign-in').hidden = false;
}

/** This page's address without what a provider sign-in added: where the provider sends us back. */
function pageUrl(): URL {
  const url = new URL(location.href);
  for (const name of RETURN_PARAMS) url.searchParams.delete(name);
  return url;
}

/** An unguessable value (getRandomValues works on plain http too, unlike randomUUID). */
function randomState(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Leaves for the provider through the service, with a state only this tab knows: the page accepts
 * the way back only when it brings that state (a sign-in someone else started is refused).
 */
function startProviderSignIn(provider: string): void {
  const state = randomState();
  sessionStorage.setItem(OAUTH_STATE_KEY, state);
  const back = pageUrl();
  back.hash = '';
  const target = new URL(`${api}/oauth/${encodeURIComponent(provider)}`);
  target.searchParams.set('redirect_uri', back.href);
  target.searchParams.set('state', state);
  location.assign(target.href);
}

/** One button per provider the service has enabled; none when it cannot be asked. */
async function showProviders(): Promise<void> {
  const response = await call('/oauth/providers');
  if (!response.ok) return;
  const { providers } = (await response.json()) as { providers: string[] };
  const buttons = providers.map((provider) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.provider = provider;
    button.textContent = `Sign in with ${PROVIDER_NAMES[provider] ?? provider}`;
    button.addEventListener('click', () => startProviderSignIn(provider));
    return button;
  });
  $('provider-buttons').replaceChildren(...buttons);
  $('providers').hidden = buttons.length === 0;
}

/**
 * Reads the way back from a provider, if this load is one, and clears it from the address bar.
 * True when the page may go on to its session check: not a return, or a successful one that
 * brought this tab's state (the session cookie is then set).
 */
function finishProviderSignIn(): boolean {
  const query = new URLSearchParams(location.search);
  if (!query.has('state') && !query.has('error')) return true;
  const expected = sessionStorage.getItem(OAUTH_STATE_KEY);
  sessionStorage.removeItem(OAUTH_STATE_KEY);
  history.replaceState(history.state, '', pageUrl());
  if (expected === null || query.get('state') !== expected) {
    $('sign-in-error').textContent =
      'This sign-in was not started from this page, so it was not used; please sign in again';
    return false;
  }
  const error = query.get('error');
  if (error !== null) {
    $('sign-in-error').textContent = PROVIDER_ERRORS[error] ?? `Sign-in failed (${error})`;
    return false;
  }
  return true;
}

$('api').textContent = api;

// The transport: `?transport=websocket`, else SSE. Switching it moves a running stream over, on
// from the last notification shown, and keeps the choice in the address for a reload.
$<HTMLSelectElement>('transport').value =
  new URLSearchParams(location.search).get('transport') === 'websocket' ? 'websocket' : 'sse';
$<HTMLSelectElement>('transport').addEventListener('change', (event) => {
  const transport = (event.target as HTMLSelectElement).value;
  const url = new URL(location.href);
  url.searchParams.set('transport', transport);
  history.replaceState(history.state, '', url);
  if (!stream) return;
  const { lastEventId } = stream;
  stream.stop();
  openStream(lastEventId);
});

$<HTMLFormElement>('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  $('sign-in-error').textContent = '';
  const response = await call('/auth/login', {
    method: 'POST',
    body: JSON.stringify({ email: form.get('email'), password: form.get('password') }),
  }).catch(() => undefined);
  if (!response?.ok) {
    $('sign-in-error').textContent = response
      ? await errorOf(response)
      : 'The API cannot be reached from this page';
    return;
  }
  signedIn(
    ((await response.json()) as { author: { id: number; name: string | null; email: string } })
      .author,
  );
});

// Signing out ends the session on the server; the stream then hears `session_revoked` and the
// page returns to the sign-in form through `onSignedOut`, as it would for a logout elsewhere.
$('sign-out').addEventListener('click', () => {
  void call('/auth/logout', { method: 'POST' }).finally(() => {
    if ($('status').dataset.status !== 'open') signedOut();
  });
});

$<HTMLFormElement>('follow-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  await graphql('mutation Follow($id: Int!) { follow(authorId: $id) }', {
    id: Number(form.get('authorId')),
  }).catch((error: Error) => ($('app-error').textContent = error.message));
});

$<HTMLFormElement>('shout-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  await graphql('mutation Shout($input: CreateShoutInput!) { createShout(input: $input) { id } }', {
    input: { title: form.get('title'), body: form.get('body') },
  }).catch((error: Error) => ($('app-error').textContent = error.message));
});

void showProviders().catch(() => undefined);

// A page opened with a live session goes straight to the app; so does one back from a provider,
// signed in by the cookie the service set on the way.
if (finishProviderSignIn()) {
  call('/auth/profile')
    .then(async (response) => {
      if (response.ok) signedIn((await response.json()) as Parameters<typeof signedIn>[0]);
    })
    .catch(() => ($('sign-in-error').textContent = 'The API cannot be reached from this page'));
}
