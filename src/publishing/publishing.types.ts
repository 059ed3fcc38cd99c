import { ArgsType, Field, Float, InputType, Int, ObjectType } from '@nestjs/graphql';
import { IsInt, IsOptional, IsString, MaxLength, Min, MinLength } from 'class-validator';
import { Connection, PageArgs } from '../graphql/pagination';

/** What anyone may see of an author. */
@ObjectType('Author')
export class AuthorType {
  @Field(() => Int) id: number;
  @Field(() => String, { nullable: true }) name: string | null;
  @Field() slug: string;
  @Field(() => String, { nullable: true }) pic: string | null;
  @Field(() => String, { nullable: true }) bio: string | null;
  @Field(() => Float) createdAt: number;
}

@ObjectType('Shout')
export class ShoutType {
  @Field(() => Int) id: number;
  @Field(() => Int) authorId: number;
  @Field() title: string;
  @Field() body: string;
  @Field(() => Float) createdAt: number;
  @Field(() => Float, { nullable: true }) publishedAt: number | null;
  @Field(() => Float, { nullable: true }) unpublishedAt: number | null;
  @Field(() => String, { nullable: true }) unpublishReason: string | null;
}

@ObjectType()
export class ShoutConnection extends Connection(ShoutType) {}

@ObjectType()
export class AuthorConnection extends Connection(AuthorType) {}

@InputType()
export class CreateShoutInput {
  @Field()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  title: string;

  @Field()
  @IsString()
  @MinLength(1)
  @MaxLength(20000)
  body: string;
}

@ArgsType()
export class UnpublishShoutArgs {
  @Field(() => Int)
  @IsInt()
  @Min(1)
  id: number;

  @Field()
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason: string;
}

/** Exactly one of `id` and `slug`. */
@ArgsType()
export class AuthorLookupArgs {
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  id?: number;

  @Field({ nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(50)
  slug?: string;
}

@ArgsType()
export class FollowersArgs extends PageArgs {
  @Field(() => Int)
  @IsInt()
  @Min(1)
  authorId: number;
}
