import { Field, InputType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { EMAIL_MAX, IsEmailAddress } from './email-address';
import type { DeliveryMode } from './session-cookie.service';

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;
const NAME_MAX = 100;
const MODES: DeliveryMode[] = ['cookie', 'bearer'];

const EMAIL_DOC = {
  example: 'ada@example.com',
  maxLength: EMAIL_MAX,
  description: 'compared and stored trimmed, in Unicode NFC and lower case',
};

const MODE_DOC = {
  enum: MODES,
  default: 'cookie',
  description:
    'cookie: the token is set as an httpOnly cookie and never returned; bearer: no cookie, the token is returned',
};

@InputType('LoginInput')
export class LoginDto {
  @ApiProperty(EMAIL_DOC)
  @Field()
  @IsEmailAddress()
  email: string;

  @ApiProperty({ minLength: 1, maxLength: PASSWORD_MAX })
  @Field()
  @IsString()
  @MinLength(1, { message: 'password must not be empty' })
  @MaxLength(PASSWORD_MAX)
  password: string;

  @ApiPropertyOptional(MODE_DOC)
  @Field(() => String, { nullable: true, description: 'cookie (default) or bearer' })
  @IsOptional()
  @IsIn(MODES, { message: 'mode must be cookie or bearer' })
  mode?: DeliveryMode;
}

@InputType('RegisterInput')
export class RegisterDto {
  @ApiProperty(EMAIL_DOC)
  @Field()
  @IsEmailAddress()
  email: string;

  @ApiProperty({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX })
  @Field()
  @IsString()
  @MinLength(PASSWORD_MIN)
  @MaxLength(PASSWORD_MAX)
  password: string;

  @ApiPropertyOptional({ example: 'Ada Lovelace', maxLength: NAME_MAX })
  @Field({ nullable: true })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(NAME_MAX)
  name?: string;

  @ApiPropertyOptional(MODE_DOC)
  @Field(() => String, { nullable: true, description: 'cookie (default) or bearer' })
  @IsOptional()
  @IsIn(MODES, { message: 'mode must be cookie or bearer' })
  mode?: DeliveryMode;
}

/** Omitted fields stay as they are; `null` clears name, bio or pic. */
@InputType('UpdateProfileInput')
export class UpdateProfileDto {
  @ApiPropertyOptional({ maxLength: NAME_MAX, nullable: true })
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(NAME_MAX)
  name?: string | null;

  @ApiPropertyOptional({ example: 'ada-lovelace', pattern: '^[a-z0-9]+(-[a-z0-9]+)*$' })
  @Field({ nullable: true })
  // Not @IsOptional(): that would let `null` through, and every author needs a slug.
  @ValidateIf((_dto, value) => value !== undefined)
  @IsString()
  @MinLength(2)
  @MaxLength(50)
  @Matches(/^[a-z0-9]+(-[a-z0-9]+)*$/, {
    message: 'slug may only contain lower-case letters and digits, separated by single hyphens',
  })
  slug?: string;

  @ApiPropertyOptional({ maxLength: 2000, nullable: true })
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  bio?: string | null;

  @ApiPropertyOptional({ example: 'https://cdn.example.com/ada.png', nullable: true })
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  @Matches(/^https?:\/\/[^\s]+$/, { message: 'pic must be an http(s) URL' })
  pic?: string | null;
}

export class ChangePasswordDto {
  @ApiProperty({ maxLength: PASSWORD_MAX })
  @IsString()
  @MinLength(1, { message: 'old_password must not be empty' })
  @MaxLength(PASSWORD_MAX)
  old_password: string;

  @ApiProperty({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX })
  @IsString()
  @MinLength(PASSWORD_MIN)
  @MaxLength(PASSWORD_MAX)
  new_password: string;
}

const TOKEN_RULES = { message: 'token must be a token from the link that was sent' };

export class TokenDto {
  @ApiProperty({ description: 'the token from the link that was mailed' })
  @IsString()
  @MaxLength(256)
  @Matches(/^[A-Za-z0-9_-]+$/, TOKEN_RULES)
  token: string;
}

export class ForgotPasswordDto {
  @ApiProperty(EMAIL_DOC)
  @IsEmailAddress()
  email: string;
}

export class ResetPasswordDto {
  @ApiProperty({ description: 'the token from the reset link' })
  @IsString()
  @MaxLength(256)
  @Matches(/^[A-Za-z0-9_-]+$/, TOKEN_RULES)
  token: string;

  @ApiProperty({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX })
  @IsString()
  @MinLength(PASSWORD_MIN)
  @MaxLength(PASSWORD_MAX)
  new_password: string;
}

const PHONE = /^\+[1-9]\d{6,14}$/;
const PHONE_MESSAGE = { message: 'phone must be in international format, e.g. +15551234567' };

export class PhoneRequestDto {
  @ApiProperty({ example: '+15551234567' })
  @IsString()
  @Matches(PHONE, PHONE_MESSAGE)
  phone: string;
}

export class PhoneConfirmDto {
  @ApiProperty({ example: '+15551234567' })
  @IsString()
  @Matches(PHONE, PHONE_MESSAGE)
  phone: string;

  @ApiProperty({ example: '042917' })
  @IsString()
  @Matches(/^\d{6}$/, { message: 'code must be 6 digits' })
  code: string;
}
