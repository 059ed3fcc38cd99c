import { type StreamNotification, TesseraStream } from './tessera-stream.js';

/** The API's origin: `?api=` (the page may live on another origin), else this page's own. */
const api = new URLSearchParams(location.search).get('api') ?? location.origin;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let stream: TesseraStream | undefined;

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
  $('who').textContent = `${profile.name ?? profile.email} (#${profile.id})`;
  $('sign-in').hidden = true;
  $('app').hidden = false;
  stream = new TesseraStream({
    url: `${api}/sse/notifications`,
    onNotification: show,
    onStatus: (status) => {
      $('status').textContent = status;
      $('status').dataset.status = status;
    },
    onSignedOut: signedOut,
  });
  stream.start();
}

function signedOut(): void {
  stream?.stop('signed-out');
  stream = undefined;
  $('notifications').replaceChildren();
  $('app').hidden = true;
  $('sign-in').hidden = false;
}

$('api').textContent = api;

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

// A page opened with a live session goes straight to the app.
call('/auth/profile')
  .then(async (response) => {
    if (response.ok) signedIn((await response.json()) as Parameters<typeof signedIn>[0]);
  })
  .catch(() => ($('sign-in-error').textContent = 'The API cannot be reached from this page'));
