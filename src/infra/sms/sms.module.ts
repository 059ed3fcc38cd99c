import { Module } from '@nestjs/common';
import { LogSmsSender, SmsSender } from './sms.service';

@Module({ providers: [{ provide: SmsSender, useClass: LogSmsSender }], exports: [SmsSender] })
export class SmsModule {}
