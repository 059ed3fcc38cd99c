import { Field, Float, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { PASSWORD_MAX, PASSWORD_MIN } from './auth.dto';

/** GraphQL shapes of the auth module. Times are epoch seconds (Float: they outgrow Int in 2038). */
@ObjectType('Profile', { description: 'The signed-in author, as they see themselves' })
export class ProfileType {
  @Field(() => Int) id: number;
  @Field() email: string;
  @Field(() => String, { nullable: true }) name: string | null;
  @Field() slug: string;
  @Field(() => String, { nullable: true }) pic: string | null;
  @Field(() => String, { nullable: true }) bio: string | null;
  @Field() emailVerified: boolean;
  @Field(() => String, { nullable: true }) phone: string | null;
  @Field() phoneVerified: boolean;
  @Field(() => [String]) roles: string[];
  @Field(() => [String]) permissions: string[];
  @Field(() => Float) createdAt: number;
  @Field(() => Float, { nullable: true }) lastSeen: number | null;
}

@ObjectType('Session', { description: 'One of the signed-in author’s sessions' })
export class SessionType {
  @Field(() => ID) id: string;
  @Field(() => Float) createdAt: number;
  @Field(() => Float) lastActive: number;
  @Field(() => Float) expiresAt: number;
  @Field(() => String, { nullable: true }) ip: string | null;
  @Field(() => String, { nullable: true }) userAgent: string | null;
  @Field() current: boolean;
}

@ObjectType('AuthPayload')
export class AuthPayload {
  @Field(() => ProfileType) author: ProfileType;
  @Field(() => SessionType) session: SessionType;
  @Field(() => String, { nullable: true, description: 'Only in bearer mode' })
  token?: string;
}

@InputType('ChangePasswordInput')
export class ChangePasswordInput {
  @Field()
  @IsString()
  @MinLength(1)
  @MaxLength(PASSWORD_MAX)
  oldPassword: string;

  @Field()
  @IsString()
  @MinLength(PASSWORD_MIN)
  @MaxLength(PASSWORD_MAX)
  newPassword: string;
}
