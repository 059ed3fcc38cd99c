import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';

/**
 * For routes that take no body: any field sent is unknown, and unknown fields are refused (400),
 * as the validation pipe does for routes with a DTO. Use as `@Body(NoBodyPipe)`.
 */
@Injectable()
export class NoBodyPipe implements PipeTransform {
  transform(value: unknown): undefined {
    if (value === undefined || value === null) return undefined;
    const fields = typeof value === 'object' ? Object.keys(value) : [];
    if (fields.length === 0 && typeof value === 'object') return undefined;
    throw new BadRequestException(
      fields.length > 0
        ? fields.map((field) => `property ${field} should not exist`)
        : 'This route takes no request body',
    );
  }
}
