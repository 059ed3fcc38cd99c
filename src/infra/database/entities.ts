import { AuditEvent } from './tables/audit-event.entity';
import { Author } from './tables/author.entity';
import { Notification } from './tables/notification.entity';
import { OAuthAccount } from './tables/oauth-account.entity';
import { AuthorRole } from './tables/author-role.entity';
import { Permission } from './tables/permission.entity';
import { Role } from './tables/role.entity';
import { Follower } from './tables/follower.entity';
import { Shout } from './tables/shout.entity';

/** Listed explicitly rather than globbed, so that the app, the CLI and Jest (ESM) load the same set. */
export const ENTITIES = [
  Author,
  Role,
  Permission,
  AuthorRole,
  OAuthAccount,
  AuditEvent,
  Shout,
  Follower,
  Notification,
];
