import { Body, Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCookieAuth,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AuthRequired, CurrentUser } from '../permissions/access.decorator';
import { LinkedAccountDto } from './auth-response.dto';
import type { Author } from '../infra/database/tables/author.entity';
import { Client, type ClientInfo } from '../infra/http/client-info.decorator';
import { LinkedAccountsService } from './linked-accounts.service';
import { ProviderPipe } from './provider.pipe';
import { NoBodyPipe } from '../infra/http/no-body.pipe';

@ApiTags('accounts')
@ApiCookieAuth()
@ApiBearerAuth()
@Controller('auth/accounts')
@AuthRequired()
export class AccountsController {
  constructor(private readonly accounts: LinkedAccountsService) {}

  @Get()
  @ApiOkResponse({
    type: [LinkedAccountDto],
    description: 'the OAuth accounts linked to the caller',
  })
  async list(@CurrentUser() author: Author): Promise<LinkedAccountDto[]> {
    return (await this.accounts.list(author.id)).map((account) => LinkedAccountDto.of(account));
  }

  @Delete(':provider')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'unlinked' })
  @ApiNotFoundResponse({ description: 'no account of that provider is linked' })
  @ApiConflictResponse({ description: 'it is the last way to sign in' })
  async unlink(
    @Body(NoBodyPipe) _body: undefined,
    @CurrentUser() author: Author,
    @Param('provider', ProviderPipe) provider: string,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.accounts.unlink(author.id, provider, client);
  }
}
