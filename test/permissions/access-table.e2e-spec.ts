import { Controller, Get } from '@nestjs/common';
import { Query, Resolver } from '@nestjs/graphql';
import { Test } from '@nestjs/testing';
import { Public } from '../../src/permissions/access.decorator';
import {
  type AccessRow,
  accessTable,
  assertEveryHandlerDeclaresAccess,
  renderAccessTable,
} from '../support/access-table';
import { startTestApp, type TestApp } from '../support/test-app';

// A resolver and a controller as someone might add them: one handler declared, one forgotten.
@Resolver()
class ForgetfulResolver {
  @Query(() => String)
  @Public()
  declared(): string {
    return 'ok';
  }

  @Query(() => String)
  forgotten(): string {
    return 'open?';
  }
}

@Controller('forgetful')
class ForgetfulController {
  @Get('declared')
  @Public()
  declared(): string {
    return 'ok';
  }

  @Get('forgotten')
  forgotten(): string {
    return 'open?';
  }
}

const accessOf = (rows: AccessRow[], entry: string) => rows.find((row) => row.entry === entry);

describe('access table (who can reach what)', () => {
  let t: TestApp;
  let rows: AccessRow[];

  beforeAll(async () => {
    t = await startTestApp();
    rows = accessTable(t.app);
  });

  afterAll(async () => {
    await t?.close();
  });

  // A change of who can reach what changes this snapshot, so it shows in review. CI runs with
  // CI=true: a missing or stale snapshot fails there; update it with `-u` and review the diff.
  it('matches the committed table', () => {
    expect(renderAccessTable(rows)).toMatchSnapshot();
  });

  it('has every route and resolver declare its access', () => {
    expect(() => assertEveryHandlerDeclaresAccess(rows)).not.toThrow();
  });

  // Spot checks against the README (endpoints, GraphQL, roles), so that a snapshot accepted with `-u` cannot
  // quietly open what the contract closes.
  it('gives the handlers the README names the access it names', () => {
    expect(accessOf(rows, 'GraphQL Mutation unpublishShout')?.access).toBe('permission:moderate');
    expect(accessOf(rows, 'GraphQL Mutation createShout')?.access).toBe('permission:write');
    for (const login of ['REST POST /auth/login', 'GraphQL Mutation login']) {
      expect(accessOf(rows, login)).toEqual({
        entry: login,
        access: 'public',
        rateLimits: ['loginIp', 'loginEmailIp', 'loginEmail'],
      });
    }
    const admin = [
      'GraphQL Query authors',
      'GraphQL Query roles',
      'GraphQL Query auditLog',
      'GraphQL Query tokenStats',
      'GraphQL Mutation assignRole',
      'GraphQL Mutation removeRole',
      'GraphQL Mutation banAuthor',
      'GraphQL Mutation unbanAuthor',
      'GraphQL Mutation revokeAuthorSessions',
    ];
    expect(admin.map((entry) => [entry, accessOf(rows, entry)?.access])).toEqual(
      admin.map((entry) => [entry, 'permission:admin']),
    );
  });
});

describe('access table check on an undeclared handler', () => {
  // What AccessGuard then does with a request to such a handler (403, even to a signed-in admin)
  // is covered in src/permissions/access.guard.spec.ts; here it is the table check that must fail.
  it('lists the handler as NONE and fails the check, naming it', async () => {
    const module = await Test.createTestingModule({
      controllers: [ForgetfulController],
      providers: [ForgetfulResolver],
    }).compile();
    try {
      const rows = accessTable(module);
      expect(rows).toEqual([
        { entry: 'GraphQL Query declared', access: 'public', rateLimits: [] },
        { entry: 'GraphQL Query forgotten', access: 'NONE', rateLimits: [] },
        { entry: 'REST GET /forgetful/declared', access: 'public', rateLimits: [] },
        { entry: 'REST GET /forgetful/forgotten', access: 'NONE', rateLimits: [] },
      ]);
      const check = () => assertEveryHandlerDeclaresAccess(rows);
      expect(check).toThrow(/GraphQL Query forgotten +NONE/);
      expect(check).toThrow(/REST GET \/forgetful\/forgotten +NONE/);
      expect(check).not.toThrow(/Query declared|\/forgetful\/declared/);
    } finally {
      await module.close();
    }
  });
});
