import type { INestApplicationContext, Type } from '@nestjs/common';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { ACCESS_KEY, type Access, describeAccess } from '../../src/permissions/access.decorator';
import { RATE_LIMITS_KEY } from '../../src/rate-limit/rate-limit.guard';

// Metadata keys of @nestjs/graphql (graphql.constants.js, not part of its public exports).
const RESOLVER_TYPE_METADATA = 'graphql:resolver_type';
const RESOLVER_NAME_METADATA = 'graphql:resolver_name';
/** Root fields only: field resolvers do not run the global guards, their parent field does. */
const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

type Handler = (...args: unknown[]) => unknown;

/** One entry point and who may reach it. */
export interface AccessRow {
  /** `REST POST /auth/login` or `GraphQL Mutation login`. */
  entry: string;
  /** `describeAccess` of what the handler declares: `public`, `authenticated`, `permission:x`, or `NONE`. */
  access: string;
  /** The `@RateLimit(...)` names the handler carries. */
  rateLimits: string[];
}

/**
 * Every REST route and GraphQL root field the application context holds, found by discovery (not
 * listed by hand, so a new handler cannot be left out), with the access `AccessGuard` reads for it.
 */
export function accessTable(app: INestApplicationContext): AccessRow[] {
  // The app does not import DiscoveryModule, so `app.get(DiscoveryService)` fails (and a failed
  // `get` exits the process under NestFactory); the service is built over the container Nest always has.
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const reflector = app.get(Reflector);
  const rowFor = (entry: string, handler: Handler, type: Type): AccessRow => ({
    entry,
    // The same lookup as AccessGuard and RateLimitGuard: the handler's declaration, else the class's.
    access: describeAccess(
      reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, [handler, type]),
    ),
    rateLimits:
      reflector.getAllAndOverride<string[] | undefined>(RATE_LIMITS_KEY, [handler, type]) ?? [],
  });

  const rows: AccessRow[] = [];
  for (const type of classesOf(discovery.getControllers())) {
    const prefixes = paths(Reflect.getMetadata(PATH_METADATA, type));
    for (const name of scanner.getAllMethodNames(type.prototype)) {
      const handler = type.prototype[name] as Handler;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (method === undefined) continue;
      for (const prefix of prefixes) {
        for (const path of paths(Reflect.getMetadata(PATH_METADATA, handler))) {
          rows.push(
            rowFor(`REST ${RequestMethod[method]} ${joinPath(prefix, path)}`, handler, type),
          );
        }
      }
    }
  }
  for (const type of classesOf(discovery.getProviders())) {
    for (const name of scanner.getAllMethodNames(type.prototype)) {
      const handler = type.prototype[name] as Handler;
      const root = Reflect.getMetadata(RESOLVER_TYPE_METADATA, handler) as string | undefined;
      if (!root || !ROOT_TYPES.has(root)) continue;
      const field = (Reflect.getMetadata(RESOLVER_NAME_METADATA, handler) as string) || name;
      rows.push(rowFor(`GraphQL ${root} ${field}`, handler, type));
    }
  }
  return rows.sort((a, b) => (a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : 0));
}

/** Fixed widths, so that a new, longer name adds one line to the snapshot's diff, not every line. */
const ENTRY_WIDTH = 48;
const ACCESS_WIDTH = 32;

/** The table as aligned text lines: entry, access, rate limits (`-` for none). */
export function renderAccessTable(rows: AccessRow[]): string {
  const entryWidth = Math.max(ENTRY_WIDTH, ...rows.map((row) => row.entry.length));
  const accessWidth = Math.max(ACCESS_WIDTH, ...rows.map((row) => row.access.length));
  return rows
    .map((row) =>
      [
        row.entry.padEnd(entryWidth),
        row.access.padEnd(accessWidth),
        row.rateLimits.join(',') || '-',
      ].join('  '),
    )
    .join('\n');
}

/**
 * Throws, naming them, if some handlers declare no access. AccessGuard refuses those at run time
 * (src/permissions/access.guard.spec.ts), so this catches a forgotten decorator before it ships.
 */
export function assertEveryHandlerDeclaresAccess(rows: AccessRow[]): void {
  const undeclared = rows.filter((row) => row.access === describeAccess(undefined));
  if (undeclared.length > 0) {
    throw new Error(
      `Handlers that declare no access (add @Public, @AuthRequired, @PermissionRequired or @AdminRequired):\n${renderAccessTable(undeclared)}`,
    );
  }
}

/** The classes behind class providers and controllers, each once (a module may re-provide one). */
function classesOf(wrappers: ReturnType<DiscoveryService['getProviders']>): Type[] {
  const classes = new Set<Type>();
  for (const wrapper of wrappers) {
    // Value, factory and alias providers have no class of their own whose methods could be handlers.
    if (typeof wrapper.metatype === 'function' && !wrapper.inject) {
      classes.add(wrapper.metatype as Type);
    }
  }
  return [...classes];
}

function paths(metadata: unknown): string[] {
  if (Array.isArray(metadata)) return metadata.length > 0 ? (metadata as string[]) : ['/'];
  return [typeof metadata === 'string' ? metadata : '/'];
}

function joinPath(prefix: string, path: string): string {
  const joined = `/${prefix}/${path}`.replace(/\/+/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
}
