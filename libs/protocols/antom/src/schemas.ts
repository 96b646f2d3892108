// Loads reflect-metadata before the decorators below record design types.
import '@tillbus/validation';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDefined,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';
import {
  ANTOM_RESULT_STATUS_NAMES,
  DSTORE_ORDER_STATUS_NAMES,
  NOTIFY_ORDER_CHANGE_STATUSES,
  PUSH_ORDER_CHANGE_STATUSES,
  type AntomResultStatus,
  type DStoreOrderStatus,
  type NotifyOrderChangeStatus,
  type PushOrderChangeStatus,
} from '@tillbus/result-codes';

/** Limits the seeds give. */
export const RESULT_CODE_MAX = 64;
export const RESULT_MESSAGE_MAX = 256;
export const ORDER_ID_MAX = 255;
export const EXTEND_INFO_MAX = 2048;
/** Limits the seeds do not give (assumptions, listed in README). */
export const ID_MAX = 255;
export const ORDER_PRODUCTS_MAX = 500;

/** `Y` connected / OK, `N` not; what to do about an `N` depends on the field. */
export const ANTOM_DEVICE_FLAGS = ['Y', 'N'] as const;
export type AntomDeviceFlag = (typeof ANTOM_DEVICE_FLAGS)[number];

export const ANTOM_DEVICE_STATUS_FIELDS = {
  networkStatus: 'network not connected: check the network and router',
  printerStatus: 'printer not connected: check the printer',
  globalStatus: 'device not ready: restart the terminal',
} as const;

export type AntomDeviceStatusField = keyof typeof ANTOM_DEVICE_STATUS_FIELDS;

export const ORDER_CHANNELS = ['DSTORE', 'GRABFOOD', 'FOODPANDA'] as const;
export type OrderChannel = (typeof ORDER_CHANNELS)[number];

export const SERVICE_TYPES = ['PICKUP', 'DINEIN', 'DELIVERY'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** Only absence is optional: an explicit null is still checked (and refused) by the other decorators. */
function Optional(): PropertyDecorator {
  return ValidateIf((_object, value) => value !== undefined);
}

/** Required once the call succeeded; a failure answer may carry only `result`. */
function RequiredOnSuccess(): PropertyDecorator {
  return ValidateIf((object: { result?: { resultStatus?: unknown } }, value) => {
    return value !== undefined || object.result?.resultStatus === 'S';
  });
}

/** An id: a non-empty string up to `max` characters. */
function Id(max: number): PropertyDecorator {
  return (target, key) => {
    IsString()(target, key);
    IsNotEmpty()(target, key);
    MaxLength(max)(target, key);
  };
}

const opaqueFields = new WeakMap<object, string[]>();

/**
 * Free-form JSON kept exactly as sent. class-transformer must never walk it: it drops keys such as `valueOf` and
 * crashes on a `constructor` key, so the parser hands it a stand-in and puts the original back afterwards.
 */
function Opaque(): PropertyDecorator {
  return (target, key) => {
    opaqueFields.set(target.constructor, [
      ...(opaqueFields.get(target.constructor) ?? []),
      String(key),
    ]);
  };
}

export function opaqueFieldsOf(schema: object): readonly string[] {
  return opaqueFields.get(schema) ?? [];
}

/** The seed types extendInfo as an object limited in characters: its JSON text (or the string itself) is measured. */
function IsExtendInfo(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isExtendInfo',
      validator: {
        validate: (value: unknown) => {
          const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
          if (typeof value !== 'string' && !isObject) return false;
          const text = typeof value === 'string' ? value : safeJsonLength(value);
          return typeof text === 'string'
            ? text.length <= EXTEND_INFO_MAX
            : text <= EXTEND_INFO_MAX;
        },
        defaultMessage: () =>
          `extendInfo must be an object or string of at most ${EXTEND_INFO_MAX} characters as JSON`,
      },
    },
    options,
  );
}

function safeJsonLength(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

export type ExtendInfo = string | Record<string, unknown>;

export class AntomResult {
  @IsIn(ANTOM_RESULT_STATUS_NAMES)
  resultStatus!: AntomResultStatus;

  // The seed marks resultCode and resultMessage as not required.
  @Optional()
  @IsString()
  @MaxLength(RESULT_CODE_MAX)
  resultCode?: string;

  @Optional()
  @IsString()
  @MaxLength(RESULT_MESSAGE_MAX)
  resultMessage?: string;
}

/** Every Antom response carries `result`. */
function HasResult(): PropertyDecorator {
  return (target, key) => {
    IsDefined()(target, key);
    IsObject()(target, key);
    ValidateNested()(target, key);
    Type(() => AntomResult)(target, key);
  };
}

/** `POST /v2/device/diagnosis` sends `{}`. No fields, so class-validator cannot check it: see parseDiagnosisRequest. */
export class DiagnosisRequest {}

export class DiagnosisResponse {
  @HasResult()
  result!: AntomResult;

  @RequiredOnSuccess()
  @IsIn(ANTOM_DEVICE_FLAGS)
  networkStatus?: AntomDeviceFlag;

  @RequiredOnSuccess()
  @IsIn(ANTOM_DEVICE_FLAGS)
  printerStatus?: AntomDeviceFlag;

  @RequiredOnSuccess()
  @IsIn(ANTOM_DEVICE_FLAGS)
  globalStatus?: AntomDeviceFlag;
}

export class InquireOrderDetailRequest {
  @Id(ORDER_ID_MAX)
  requestOrderId!: string;
}

export class InquireOrderDetailResponse {
  @HasResult()
  result!: AntomResult;

  @RequiredOnSuccess()
  @Id(ORDER_ID_MAX)
  posOrderId?: string;

  @RequiredOnSuccess()
  @IsIn(DSTORE_ORDER_STATUS_NAMES)
  orderStatus?: DStoreOrderStatus;

  @Optional()
  @IsExtendInfo()
  @Opaque()
  extendInfo?: ExtendInfo;
}

export class AntomAmount {
  /** Minor units (cents, won): an integer, never a decimal. */
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  value!: number;

  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be 3 upper-case letters (ISO 4217)' })
  currency!: string;
}

/** No source types a product's fields, so each is kept as sent (only required to be an object). */
export type OrderProduct = Record<string, unknown>;

export class CreateOrderRequest {
  @IsIn(ORDER_CHANNELS)
  orderChannel!: OrderChannel;

  @IsIn(SERVICE_TYPES)
  serviceType!: ServiceType;

  /** D-Store's idempotency key for the order. */
  @Id(ORDER_ID_MAX)
  requestOrderId!: string;

  @Id(ID_MAX)
  posAccountId!: string;

  @Id(ID_MAX)
  posStoreId!: string;

  @Id(ID_MAX)
  channelOrderId!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(ORDER_PRODUCTS_MAX)
  @IsObject({ each: true })
  @Opaque()
  orderProducts!: OrderProduct[];

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => AntomAmount)
  orderAmount!: AntomAmount;
}

export class PushOrderChangeRequest {
  /** Not in the seeds; optional so a push without it is still applied (the journey treats repeats as duplicates). */
  @Optional()
  @Id(ID_MAX)
  requestId?: string;

  @Id(ORDER_ID_MAX)
  requestOrderId!: string;

  @IsIn(PUSH_ORDER_CHANGE_STATUSES)
  orderStatus!: PushOrderChangeStatus;

  @Optional()
  @IsExtendInfo()
  @Opaque()
  extendInfo?: ExtendInfo;
}

export class NotifyOrderChangeRequest {
  /** The POS's idempotency key for this notification: the same change is always resent with the same id. */
  @Id(ID_MAX)
  requestId!: string;

  @Id(ORDER_ID_MAX)
  requestOrderId!: string;

  @Optional()
  @Id(ORDER_ID_MAX)
  posOrderId?: string;

  @IsIn(NOTIFY_ORDER_CHANGE_STATUSES)
  orderStatus!: NotifyOrderChangeStatus;
}

/** The body of answers that carry only `result` (createOrder, pushOrderChange, notifyOrderChange). */
export class ResultResponse {
  @HasResult()
  result!: AntomResult;
}
