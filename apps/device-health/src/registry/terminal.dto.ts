import { isSecretRef } from '@tillbus/config';
import { TERMINAL_ID_PATTERN } from '@tillbus/contracts';
import { isPoiId } from '@tillbus/protocols-adyen';
import { Type } from 'class-transformer';
import {
  IsDefined,
  IsIn,
  IsInt,
  IsObject,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
  type ValidationArguments,
} from 'class-validator';
import { HEALTH_VENDORS, type HealthVendor } from '@tillbus/result-codes';

/** An Antom serial number travels as the Client-Id header: keep it to header-safe characters (assumption). */
export const ANTOM_SERIAL_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const CONNECTION_KINDS = ['antom', 'adyen-local', 'adyen-cloud'] as const;
export type ConnectionKind = (typeof CONNECTION_KINDS)[number];

const KIND_OF_VENDOR: Record<HealthVendor, readonly ConnectionKind[]> = {
  antom: ['antom'],
  adyen: ['adyen-local', 'adyen-cloud'],
};

/** The fields each connection kind takes; any other field is refused by name. */
export const CONNECTION_FIELDS: Record<ConnectionKind, readonly string[]> = {
  antom: ['kind', 'baseUrl', 'privateKeyRef', 'terminalPublicKeyRef', 'keyVersion'],
  'adyen-local': ['kind', 'url', 'keyIdentifier', 'passphraseRef', 'keyVersion', 'apiKeyRef'],
  'adyen-cloud': ['kind', 'apiKeyRef', 'merchantAccount'],
};

/** Secret fields of each kind: references, resolved on use, never stored as values. */
export const SECRET_FIELDS: Record<ConnectionKind, readonly string[]> = {
  antom: ['privateKeyRef', 'terminalPublicKeyRef'],
  'adyen-local': ['passphraseRef', 'apiKeyRef'],
  'adyen-cloud': ['apiKeyRef'],
};

function IsSecretReference(): PropertyDecorator {
  return ValidateBy({
    name: 'isSecretReference',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && isSecretRef(value),
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property} must be a secret reference (env:NAME, file:/absolute/path or a name under SECRETS_DIR), never the secret itself`,
    },
  });
}

/** Own keys only: a caller's "valueOf" or "__proto__" must not find Object.prototype's members. */
function ownEntry<T>(table: Readonly<Record<string, T>>, key: unknown): T | undefined {
  return typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;
}

const fieldsOfKind = (kind: unknown) => ownEntry(CONNECTION_FIELDS, kind);

function OnlyFieldsOfItsKind(): PropertyDecorator {
  return ValidateBy({
    name: 'onlyFieldsOfItsKind',
    validator: {
      validate: (kind: unknown, args?: ValidationArguments) => {
        const allowed = fieldsOfKind(kind);
        if (!allowed) return true;
        return Object.keys(args?.object ?? {}).every((field) => allowed.includes(field));
      },
      defaultMessage: (args?: ValidationArguments) => {
        const kind = args?.value;
        const allowed = fieldsOfKind(kind) ?? [];
        const extra = Object.keys(args?.object ?? {}).filter((field) => !allowed.includes(field));
        return `a ${String(kind)} connection does not take ${extra.join(', ')} (it takes ${allowed.slice(1).join(', ')})`;
      },
    },
  });
}

const forKind =
  (...kinds: ConnectionKind[]) =>
  (object: ConnectionDto, value: unknown) =>
    kinds.includes(object.kind) || value !== undefined;

export class ConnectionDto {
  @IsIn(CONNECTION_KINDS)
  @OnlyFieldsOfItsKind()
  kind!: ConnectionKind;

  /** Antom: the terminal's base URL; the diagnosis path is appended. */
  @ValidateIf(forKind('antom'))
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
    { message: 'baseUrl must be an http:// or https:// URL' },
  )
  baseUrl?: string;

  /** Antom: the POS private key (PKCS#8) that signs our requests. */
  @ValidateIf(forKind('antom'))
  @IsSecretReference()
  privateKeyRef?: string;

  /** Antom: the terminal's public key that signs its answers. */
  @ValidateIf(forKind('antom'))
  @IsSecretReference()
  terminalPublicKeyRef?: string;

  /** Antom: keyVersion in the Signature header (default 1). Adyen local: the Nexo key version. */
  @ValidateIf(forKind('adyen-local'))
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  keyVersion?: number;

  /** Adyen local: `https://<terminal>:8443/nexo`. */
  @ValidateIf(forKind('adyen-local'))
  @Matches(/^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, {
    message:
      'url must be an https:// URL without query or fragment, e.g. https://192.168.1.20:8443/nexo',
  })
  url?: string;

  /** Adyen local: the key identifier configured on the terminal. */
  @ValidateIf(forKind('adyen-local'))
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'keyIdentifier must be 1-64 of A-Z a-z 0-9 _ . -' })
  keyIdentifier?: string;

  @ValidateIf(forKind('adyen-local'))
  @IsSecretReference()
  passphraseRef?: string;

  /** Adyen cloud: the API key (required); Adyen local: optional, the library sends it as X-API-Key. */
  @ValidateIf(forKind('adyen-cloud'))
  @IsSecretReference()
  apiKeyRef?: string;

  @ValidateIf(forKind('adyen-cloud'))
  @Matches(/^[A-Za-z0-9_.-]{1,80}$/, {
    message: 'merchantAccount must be 1-80 of A-Z a-z 0-9 _ . -',
  })
  merchantAccount?: string;
}

function VendorMatchesConnection(): PropertyDecorator {
  return ValidateBy({
    name: 'vendorMatchesConnection',
    validator: {
      validate: (vendor: unknown, args?: ValidationArguments) => {
        const kind = (args?.object as TerminalDto | undefined)?.connection?.kind;
        const kinds = ownEntry(KIND_OF_VENDOR, vendor);
        return !kinds || !kind || !CONNECTION_KINDS.includes(kind) || kinds.includes(kind);
      },
      defaultMessage: (args?: ValidationArguments) =>
        `vendor ${args?.value} takes a connection of kind ${ownEntry(KIND_OF_VENDOR, args?.value)?.join(' or ')}`,
    },
  });
}

function IsVendorId(): PropertyDecorator {
  return ValidateBy({
    name: 'isVendorId',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => {
        const vendor = (args?.object as TerminalDto | undefined)?.vendor;
        if (typeof value !== 'string') return false;
        if (vendor === 'antom') return ANTOM_SERIAL_PATTERN.test(value);
        if (vendor === 'adyen') return isPoiId(value);
        return true;
      },
      defaultMessage: (args?: ValidationArguments) =>
        (args?.object as TerminalDto | undefined)?.vendor === 'adyen'
          ? 'vendorId must be an Adyen POIID: [model]-[serial] or a Mobile SDK installation id'
          : 'vendorId must be the terminal serial number: 1-64 of A-Z a-z 0-9 _ -',
    },
  });
}

function IsLabels(): PropertyDecorator {
  return ValidateBy({
    name: 'isLabels',
    validator: {
      validate: (value: unknown) =>
        value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        Object.keys(value).length <= 32 &&
        Object.entries(value).every(
          ([key, text]) =>
            /^[A-Za-z0-9_./-]{1,63}$/.test(key) && typeof text === 'string' && text.length <= 256,
        ),
      defaultMessage: () =>
        'labels must be an object of at most 32 string values (keys 1-63 of A-Z a-z 0-9 _ . / -, values up to 256 characters)',
    },
  });
}

/** One registry entry, as sent over the bus or read from the seed file. */
export class TerminalDto {
  @Matches(TERMINAL_ID_PATTERN, { message: 'terminalId must be 1-64 of A-Z a-z 0-9 _ -' })
  terminalId!: string;

  @IsIn(HEALTH_VENDORS)
  @VendorMatchesConnection()
  vendor!: HealthVendor;

  @IsVendorId()
  vendorId!: string;

  @IsString()
  @Matches(/^[^\x00-\x1f]{1,128}$/, { message: 'storeId must be 1-128 printable characters' })
  storeId!: string;

  @ValidateIf((_object, value) => value !== undefined)
  @IsLabels()
  labels?: Record<string, string>;

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ConnectionDto)
  connection!: ConnectionDto;
}

export type AntomConnection = {
  kind: 'antom';
  baseUrl: string;
  privateKeyRef: string;
  terminalPublicKeyRef: string;
  keyVersion?: number;
};
export type AdyenLocalConnection = {
  kind: 'adyen-local';
  url: string;
  keyIdentifier: string;
  passphraseRef: string;
  keyVersion: number;
  apiKeyRef?: string;
};
export type AdyenCloudConnection = {
  kind: 'adyen-cloud';
  apiKeyRef: string;
  merchantAccount: string;
};
export type Connection = AntomConnection | AdyenLocalConnection | AdyenCloudConnection;

/** What the registry stores: references only, never a secret. */
export interface TerminalRecord {
  terminalId: string;
  vendor: HealthVendor;
  vendorId: string;
  storeId: string;
  labels: Record<string, string>;
  connection: Connection;
  createdAt: string;
  updatedAt: string;
}

/** The stored form of a validated DTO (plain data, fields of its kind only). */
export function toRecordFields(dto: TerminalDto): Omit<TerminalRecord, 'createdAt' | 'updatedAt'> {
  const connection = Object.fromEntries(
    CONNECTION_FIELDS[dto.connection.kind]
      .map((field) => [field, (dto.connection as unknown as Record<string, unknown>)[field]])
      .filter(([, value]) => value !== undefined),
  ) as Connection;
  return {
    terminalId: dto.terminalId,
    vendor: dto.vendor,
    vendorId: dto.vendorId,
    storeId: dto.storeId,
    labels: { ...(dto.labels ?? {}) },
    connection,
  };
}
