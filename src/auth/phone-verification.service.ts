import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { AuthorRepository } from '../infra/database/tables/author.repository';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';
import { SmsSender } from '../infra/sms/sms.service';
import type { ClientInfo } from '../infra/http/client-info.decorator';

const CODE_TTL_MS = 10 * 60 * 1000;
const MAX_TRIES = 5;

const codeKey = (authorId: number) => `phone_code:${authorId}`;
const triesKey = (authorId: number) => `phone_code_tries:${authorId}`;

function codeHash(authorId: number, phone: string, code: string): Buffer {
  return createHash('sha256').update(`${authorId}:${phone}:${code}`).digest();
}

/**
 * A 6-digit code by SMS proves a phone number: valid 10 minutes, 5 tries, then dead. Only a hash of
 * the code is stored; the try counter is incremented before the comparison, so parallel guesses
 * count too.
 */
@Injectable()
export class PhoneVerificationService {
  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly authors: AuthorRepository,
    private readonly sms: SmsSender,
    private readonly audit: AuditService,
  ) {}

  async request(authorId: number, phone: string): Promise<void> {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await this.store
      .multi()
      .set(codeKey(authorId), codeHash(authorId, phone, code).toString('hex'), {
        ttlMs: CODE_TTL_MS,
      })
      .set(triesKey(authorId), '0', { ttlMs: CODE_TTL_MS })
      .exec();
    await this.sms.send(phone, `Your Tessera code is ${code}. It expires in 10 minutes.`);
  }

  async confirm(
    authorId: number,
    phone: string,
    code: string,
    client: ClientInfo,
  ): Promise<{ phone: string }> {
    const stored = await this.store.get(codeKey(authorId));
    if (stored === null) {
      throw new BadRequestException('No pending code for this phone; request a new one');
    }
    const [, tries] = await this.store
      .multi()
      .set(triesKey(authorId), '0', { ttlMs: CODE_TTL_MS, onlyIfAbsent: true })
      .incr(triesKey(authorId))
      .exec();
    if (typeof tries !== 'number' || tries > MAX_TRIES) {
      await this.store.del(codeKey(authorId), triesKey(authorId));
      throw new BadRequestException('Too many wrong codes; request a new one');
    }
    const expected = Buffer.from(stored, 'hex');
    const given = codeHash(authorId, phone, code);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      if (tries === MAX_TRIES) await this.store.del(codeKey(authorId), triesKey(authorId));
      throw new BadRequestException(
        tries === MAX_TRIES ? 'Too many wrong codes; request a new one' : 'Wrong code',
      );
    }
    // Of two correct confirmations racing, only the one that deletes the code goes on.
    if ((await this.store.getdel(codeKey(authorId))) === null) {
      throw new BadRequestException('No pending code for this phone; request a new one');
    }
    await this.store.del(triesKey(authorId));
    await this.authors.setVerifiedPhone(authorId, phone);
    await this.audit.record('phone_verified', { authorId, client, data: { phone } });
    return { phone };
  }
}
