import { readFileSync } from 'node:fs';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { describeViolations, validatePlain } from '@tillbus/validation';
import { parse as parseYaml } from 'yaml';
import { CliError } from '../shared/cli';
import type { SimMerchantOptions } from './simulator';

/** `--config FILE` (JSON or YAML), checked field by field before the simulator starts. */
export class MerchantFile {
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/)
  mchId!: string;

  @IsOptional()
  @IsString()
  @Length(1, 256)
  tradePassword?: string;

  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z_][A-Za-z0-9_]*$/)
  tradePasswordEnv?: string;

  @IsOptional()
  @IsString()
  @Length(16, 16)
  iv?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100_000)
  @IsString({ each: true })
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { each: true })
  readers?: string[];

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(9999)
  readerCount?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(9999)
  readerStart?: number;
}

export class SimulatorFile {
  @IsOptional() @IsInt() @Min(0) @Max(65535) port?: number;
  @IsOptional() @IsString() host?: string;
  @IsOptional() @IsString() @Matches(/^\/\S*$/) path?: string;
  @IsOptional() @IsString() @Length(16, 16) iv?: string;
  @IsOptional() @IsString() @Matches(/^\w{1,64}$/) deviceListField?: string;
  @IsOptional() @IsIn(['objects', 'strings', 'json-text']) deviceListFormat?:
    'objects' | 'strings' | 'json-text';
  @IsOptional() @IsString() @Matches(/^\w{1,64}$/) deviceListIdField?: string;
  @IsOptional() @IsBoolean() enforceSettlement?: boolean;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => MerchantFile)
  merchants!: MerchantFile[];

  @IsOptional()
  @IsArray()
  faults?: unknown[];
}

export function merchantOptions(file: MerchantFile, env: NodeJS.ProcessEnv): SimMerchantOptions {
  const password =
    file.tradePassword ?? (file.tradePasswordEnv ? env[file.tradePasswordEnv] : undefined);
  if (!password) {
    throw new CliError(
      `merchant ${file.mchId}: set tradePassword, or tradePasswordEnv naming a set variable`,
    );
  }
  return {
    mchId: file.mchId,
    tradePassword: password,
    iv: file.iv,
    readers: file.readers,
    readerCount: file.readerCount,
    readerStart: file.readerStart,
  };
}

export function readConfigFile(path: string): SimulatorFile {
  let raw: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const result = validatePlain(SimulatorFile, raw, { root: 'config' });
  if (!result.ok) throw new CliError(`${path}: ${describeViolations(result.violations)}`);
  return result.value;
}
