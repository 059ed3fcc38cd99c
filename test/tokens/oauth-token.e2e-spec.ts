import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppConfig } from '../../src/config/app-config';
import { loadConfig } from '../../src/config/load-config';
import type { RedisStore } from '../../src/infra/redis/redis-store';
import { describeForEachDriver, dumpStore as dump } from '../support/store-drivers';
import { OAuthTokenManager } from '../../src/tokens/oauth-token.service';

type StoreFactory = () => RedisStore;

const VALUE_FORMAT = /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/;
const DAY_MS = 24 * 3600 * 1000;

/** Changes one character of a base64url part so that its decoded bytes change too. */
function flipPart(value: string, part: number): string {
  const parts = value.split('.');
  const text = parts[part];
  parts[part] = (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
  return parts.join('.');
}

function describeOAuthTokens(name: RedisStore['driver'], makeStore: StoreFactory): void {
  describe(`OAuthTokenManager: ${name}`, () => {
    const dataDirs: string[] = [];
    let config: AppConfig;
    let store: RedisStore;
    let tokens: OAuthTokenManager;
    let userId: number;
    let secrets: { accessToken: string; refreshToken: string };

    const newConfig = (): AppConfig => {
      const dataDir = mkdtempSync(join(tmpdir(), 'tessera-oauth-'));
      dataDirs.push(dataDir);
      return loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test' });
    };

    beforeEach(() => {
      config = newConfig();
      store = makeStore();
      tokens = new OAuthTokenManager(store, config);
      userId = 1 + Math.floor(Math.random() * 1_000_000);
      secrets = {
        accessToken: `ya29.access-${randomUUID()}`,
        refreshToken: `1//refresh-${randomUUID()}`,
      };
    });

    afterEach(async () => {
      for await (const keys of store.scan('*', 500)) await store.del(...keys);
      await store.close();
      for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    });

    it('round-trips access and refresh tokens', async () => {
      expect(await tokens.getAccessToken(userId, 'google')).toBeNull();
      expect(await tokens.getRefreshToken(userId, 'google')).toBeNull();

      await tokens.storeTokens(userId, 'google', secrets);
      expect(await tokens.getAccessToken(userId, 'google')).toBe(secrets.accessToken);
      expect(await tokens.getRefreshToken(userId, 'google')).toBe(secrets.refreshToken);
      expect(await tokens.getAccessToken(userId, 'github')).toBeNull();
      expect(await tokens.getAccessToken(userId + 1, 'google')).toBeNull();

      const unicode = 'tøkèn-✓-'.repeat(40);
      await tokens.storeTokens(userId, 'github', { accessToken: unicode });
      expect(await tokens.getAccessToken(userId, 'github')).toBe(unicode);
      expect(await tokens.getRefreshToken(userId, 'github')).toBeNull();
    });

    it('reads tokens written by another instance with the same configuration', async () => {
      await tokens.storeTokens(userId, 'google', secrets);
      const sibling = new OAuthTokenManager(store, config);
      expect(await sibling.getAccessToken(userId, 'google')).toBe(secrets.accessToken);
    });

    it('sets the access TTL from expires_in, or one hour, and the refresh TTL to 30 days', async () => {
      await tokens.storeTokens(userId, 'google', { ...secrets, expiresIn: 120 });
      const accessTtl = await store.pttl(`oauth_access:${userId}:google`);
      expect(accessTtl).toBeGreaterThan(110_000);
      expect(accessTtl).toBeLessThanOrEqual(120_000);
      const refreshTtl = await store.pttl(`oauth_refresh:${userId}:google`);
      expect(refreshTtl).toBeGreaterThan(30 * DAY_MS - 10_000);
      expect(refreshTtl).toBeLessThanOrEqual(30 * DAY_MS);

      for (const expiresIn of [undefined, 0, -5, Number.NaN]) {
        await tokens.storeTokens(userId, 'github', { accessToken: 'a', expiresIn });
        const ttl = await store.pttl(`oauth_access:${userId}:github`);
        expect(ttl).toBeGreaterThan(3_590_000);
        expect(ttl).toBeLessThanOrEqual(3_600_000);
      }
    });

    it('keeps the stored refresh token when a refresh omits it', async () => {
      await tokens.storeTokens(userId, 'google', secrets);
      await tokens.storeTokens(userId, 'google', { accessToken: 'fresh-access', expiresIn: 60 });
      expect(await tokens.getAccessToken(userId, 'google')).toBe('fresh-access');
      expect(await tokens.getRefreshToken(userId, 'google')).toBe(secrets.refreshToken);
    });

    it('stores only ciphertext, with a fresh IV per value', async () => {
      await tokens.storeTokens(userId, 'google', secrets);
      await tokens.storeTokens(userId, 'github', secrets);
      const entries = await dump(store);
      expect([...entries.keys()].sort()).toEqual(
        [
          `oauth_access:${userId}:github`,
          `oauth_access:${userId}:google`,
          `oauth_refresh:${userId}:github`,
          `oauth_refresh:${userId}:google`,
        ].sort(),
      );
      for (const [key, value] of entries) {
        expect(value).toMatch(VALUE_FORMAT);
        for (const secret of Object.values(secrets)) {
          expect(key).not.toContain(secret);
          expect(value).not.toContain(secret);
          expect(value).not.toContain(Buffer.from(secret).toString('base64url'));
        }
      }
      const ivs = [...entries.values()].map((value) => value.split('.')[1]);
      expect(new Set(ivs).size).toBe(ivs.length);
    });

    it('answers null for a tampered or malformed value, without throwing', async () => {
      await tokens.storeTokens(userId, 'google', secrets);
      const key = `oauth_access:${userId}:google`;
      const stored = (await store.get(key))!;
      const tampered = [
        flipPart(stored, 1),
        flipPart(stored, 2),
        flipPart(stored, 3),
        stored.replace(/^v1\./, 'v2.'),
        `${stored}x`,
        `${stored}.extra`,
        stored.split('.').slice(0, 3).join('.'),
        'plaintext-token',
        '',
      ];
      for (const value of tampered) {
        await store.set(key, value, { ttlMs: 60_000 });
        expect(await tokens.getAccessToken(userId, 'google')).toBeNull();
      }
      await store.set(key, stored, { ttlMs: 60_000 });
      expect(await tokens.getAccessToken(userId, 'google')).toBe(secrets.accessToken);
    });

    it('answers null for a value moved under another key', async () => {
      await tokens.storeTokens(userId, 'google', secrets);
      const access = (await store.get(`oauth_access:${userId}:google`))!;
      const refresh = (await store.get(`oauth_refresh:${userId}:google`))!;
      const other = userId + 1;

      await store.set(`oauth_access:${other}:google`, access, { ttlMs: 60_000 });
      await store.set(`oauth_refresh:${other}:google`, refresh, { ttlMs: 60_000 });
      await store.set(`oauth_access:${userId}:github`, access, { ttlMs: 60_000 });
      await store.set(`oauth_refresh:${userId}:github`, access, { ttlMs: 60_000 });
      expect(await tokens.getAccessToken(other, 'google')).toBeNull();
      expect(await tokens.getRefreshToken(other, 'google')).toBeNull();
      expect(await tokens.getAccessToken(userId, 'github')).toBeNull();
      expect(await tokens.getRefreshToken(userId, 'github')).toBeNull();
    });

    it('answers null under different key material', async () => {
      await tokens.storeTokens(userId, 'google', secrets);
      const stranger = new OAuthTokenManager(store, newConfig());
      expect(await stranger.getAccessToken(userId, 'google')).toBeNull();
      expect(await stranger.getRefreshToken(userId, 'google')).toBeNull();
    });

    it('deletes both tokens', async () => {
      await tokens.storeTokens(userId, 'google', secrets);
      await tokens.storeTokens(userId, 'github', secrets);
      await tokens.deleteTokens(userId, 'google');
      expect(await tokens.getAccessToken(userId, 'google')).toBeNull();
      expect(await tokens.getRefreshToken(userId, 'google')).toBeNull();
      expect(await store.exists(`oauth_access:${userId}:google`)).toBe(false);
      expect(await store.exists(`oauth_refresh:${userId}:google`)).toBe(false);
      expect(await tokens.getAccessToken(userId, 'github')).toBe(secrets.accessToken);
      await expect(tokens.deleteTokens(userId, 'google')).resolves.toBeUndefined();
    });

    it('refuses owners that cannot form a key', async () => {
      await expect(tokens.storeTokens(0, 'google', secrets)).rejects.toThrow(TypeError);
      await expect(tokens.storeTokens(userId, 'goo:gle', secrets)).rejects.toThrow(TypeError);
      await expect(tokens.storeTokens(userId, '*', secrets)).rejects.toThrow(TypeError);
      await expect(tokens.storeTokens(userId, 'google', { accessToken: '' })).rejects.toThrow(
        TypeError,
      );
      await expect(tokens.getAccessToken(userId, 'a:b')).rejects.toThrow(TypeError);
      expect((await dump(store)).size).toBe(0);
    });
  });
}

describeForEachDriver('OAuthTokenManager', (makeStore, driver) =>
  describeOAuthTokens(driver, () => makeStore().store),
);
