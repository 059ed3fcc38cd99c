import { AuditEvent } from '../../audit/audit-event.entity';
import { Author } from '../../auth/author.entity';
import { Notification } from '../../notifications/notification.entity';
import { OAuthAccount } from '../../oauth/oauth-account.entity';
import { AuthorRole } from '../../permissions/author-role.entity';
import { Permission } from '../../permissions/permission.entity';
import { Role } from '../../permissions/role.entity';
import { Follower } from '../../publishing/follower.entity';
import { Shout } from '../../publishing/shout.entity';

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
