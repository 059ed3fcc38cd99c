import { Global, Module } from '@nestjs/common';
import { LogSmsSender, SmsSender } from './sms.service';

@Global()
@Module({ providers: [{ provide: SmsSender, useClass: LogSmsSender }], exports: [SmsSender] })
export class SmsModule {}
