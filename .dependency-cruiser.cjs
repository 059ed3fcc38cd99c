// Layering of src/, checked by `npm run lint` (docs/DEVELOPMENT.md, "Architecture").
// Layers, lowest first: config → infra → core (tokens, events, rate-limit, graphql) → permissions
// (the access vocabulary) → features → the composition roots (src/*.ts). An import may only point
// down; across features it may only reach the other feature's public files listed below.

const FEATURES = [
  'audit',
  'auth',
  'admin',
  'health',
  'maintenance',
  'metrics',
  'notifications',
  'oauth',
  'publishing',
  'sse',
];
const CORE = ['tokens', 'events', 'rate-limit', 'graphql'];

/** What a feature (or core folder) offers the rest of src/; everything else in it is internal. */
const PUBLIC = {
  admin: ['admin.module.ts'],
  audit: ['audit.module.ts', 'audit.service.ts'],
  auth: [
    'auth.module.ts',
    'auth-core.module.ts',
    'email-address.ts',
    'origin-policy.service.ts',
    'password.service.ts',
    'legacy-sessions.service.ts',
    'session-cookie.service.ts',
    'slug.service.ts',
  ],
  health: ['health.module.ts'],
  maintenance: ['maintenance.module.ts'],
  metrics: ['metrics.module.ts', 'metrics.service.ts'],
  oauth: ['oauth.module.ts', 'oauth-stats.service.ts'],
  notifications: [
    'notifications.module.ts',
    'notification-feed.module.ts',
    'notification-feed.service.ts',
    'notification-channels.ts',
    'notifications.types.ts',
  ],
  publishing: ['publishing.module.ts'],
  sse: ['sse.module.ts', 'notification-socket.module.ts'],
  tokens: [
    'tokens.module.ts',
    'session-token.service.ts',
    'verification-token.service.ts',
    'oauth-token.service.ts',
    'token-monitoring.service.ts',
    'jwt-codec.service.ts',
    'batch-token.service.ts',
    'original-session-keys.ts',
  ],
};

/** Which folders may use each repository; a table belongs to the feature that writes it. */
const REPOSITORY_USERS = {
  'audit-event': ['audit'],
  author: ['auth', 'admin', 'oauth', 'publishing', 'notifications', 'sse'],
  'author-role': ['permissions', 'admin'],
  follower: ['publishing', 'notifications'],
  notification: ['notifications'],
  'oauth-account': ['auth', 'oauth'],
  role: ['admin'],
  shout: ['publishing'],
};

const anyOf = (names) => `^src/(${names.join('|')})/`;
const literal = (name) => name.replace(/[.-]/g, (c) => `\\${c}`);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Files must not import each other in a circle, directly or through others.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-circular',
      severity: 'error',
      scope: 'folder',
      comment: 'Folders must not depend on each other in a circle.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'config-imports-nothing',
      severity: 'error',
      comment: 'Configuration is read first and depends on no other part of src/.',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: '^src/config/' },
    },
    {
      name: 'infra-imports-no-feature',
      severity: 'error',
      comment: 'Infrastructure (database, redis, http, logging, mail, sms) knows no feature.',
      from: { path: '^src/infra/' },
      to: { path: '^src/', pathNot: '^src/(infra|config)/' },
    },
    {
      name: 'core-imports-no-feature',
      severity: 'error',
      comment:
        'Tokens, events, rate limits and GraphQL setup serve features and know none of them.',
      from: { path: anyOf(CORE) },
      to: { path: anyOf(['permissions', ...FEATURES]) },
    },
    {
      name: 'access-imports-no-feature',
      severity: 'error',
      comment: 'The access vocabulary (src/permissions) is used by every feature and knows none.',
      from: { path: '^src/permissions/' },
      to: { path: anyOf(FEATURES) },
    },
    {
      name: 'roots-are-not-imported',
      severity: 'error',
      comment: 'Only the entry points (src/*.ts) compose modules; nothing below imports them.',
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    ...Object.entries(PUBLIC).map(([folder, files]) => ({
      name: `${folder}-internals`,
      severity: 'error',
      comment: `Outside src/${folder}/, only its public files may be imported: ${files.join(', ')}.`,
      from: { path: '^src/[^/]+/', pathNot: `^src/${folder}/` },
      to: { path: `^src/${folder}/`, pathNot: `^src/${folder}/(${files.map(literal).join('|')})$` },
    })),
    ...Object.entries(REPOSITORY_USERS).map(([table, users]) => ({
      name: `${table}-repository-users`,
      severity: 'error',
      comment: `${table}.repository.ts is used only by: ${users.join(', ')}.`,
      from: { path: '^src/[^/]+/', pathNot: anyOf(['infra', ...users]) },
      to: { path: `^src/infra/database/tables/${literal(table)}\\.repository\\.ts$` },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
