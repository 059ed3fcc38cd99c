import { Controller, Get } from '@nestjs/common';
import { HealthService, type HealthReport } from './health.service';
import { Public } from '../permissions/access.decorator';

@Controller('health')
@Public()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  check(): Promise<HealthReport> {
    return this.health.check();
  }
}
