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
  IsISO8601,
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
  AMOUNT_VALUE_MAX,
  DATETIME_MAX,
  DELIVERY_STATUS_MAX,
  ID_MAX,
  ORDER_ID_MAX,
  type DStoreOrderStatus,
  type NotifyOrderChangeStatus,
  type PushOrderChangeStatus,
} from '@tillbus/result-codes';

/** Limits the seeds and D-Store's data dictionary give. */
export const RESULT_CODE_MAX = 64;
export const RESULT_MESSAGE_MAX = 256;
export { ORDER_ID_MAX, AMOUNT_VALUE_MAX, ID_MAX, DELIVERY_STATUS_MAX, DATETIME_MAX };
export const EXTEND_INFO_MAX = 2048;
/** createOrder's posAccountId (D-Store's create_order table). */
export const POS_ACCOUNT_ID_MAX = 64;
/** AddressDetail (data dictionary): every field optional; postCode ≤ 6, the other texts ≤ 255. */
export const ADDRESS_TEXT_MAX = 255;
export const POST_CODE_MAX = 6;
/** A limit the seeds do not give (an assumption, listed in README). */
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
  /** Minor units (cents, won): an integer, never a decimal; D-Store's range is 0–2147483647. */
  @IsInt()
  @Min(0)
  @Max(AMOUNT_VALUE_MAX)
  value!: number;

  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be 3 upper-case letters (ISO 4217)' })
  currency!: string;
}

/** No table we can read types a product's fields, so each is kept as sent (only required to be an object). */
export type OrderProduct = Record<string, unknown>;

/** D-Store's AddressDetail (data dictionary): each field is passed only when D-Store has it. */
export const ADDRESS_DETAIL_LIMITS = {
  addressDetail: ADDRESS_TEXT_MAX,
  blockNo: ADDRESS_TEXT_MAX,
  floorNo: ADDRESS_TEXT_MAX,
  unitNo: ADDRESS_TEXT_MAX,
  postCode: POST_CODE_MAX,
  latitude: ADDRESS_TEXT_MAX,
  longitude: ADDRESS_TEXT_MAX,
  additionalInformation: ADDRESS_TEXT_MAX,
} as const;

export type AddressDetail = { [K in keyof typeof ADDRESS_DETAIL_LIMITS]?: string };

/**
 * The customer as D-Store sends it. Its own field table is cut off in every copy we can read, so the object is kept
 * verbatim; what we can check is the AddressDetail inside it: any member object carrying AddressDetail fields must
 * keep to that table's types and sizes.
 */
export type DStoreCustomer = Record<string, unknown>;

/** The members of `customer` that are AddressDetail objects (found by their documented field names). */
export function addressesOf(customer: unknown): Array<{ field: string; address: AddressDetail }> {
  if (!isPlainObject(customer)) return [];
  const found: Array<{ field: string; address: AddressDetail }> = [];
  for (const [field, value] of Object.entries(customer)) {
    if (isPlainObject(value) && Object.keys(value).some((key) => key in ADDRESS_DETAIL_LIMITS))
      found.push({ field, address: value as AddressDetail });
  }
  return found;
}

/** What is wrong with a customer's AddressDetail fields, or nothing. */
export function customerProblems(customer: unknown): string[] {
  if (!isPlainObject(customer)) return ['customer must be an object'];
  const problems: string[] = [];
  for (const { field, address } of addressesOf(customer)) {
    for (const [name, max] of Object.entries(ADDRESS_DETAIL_LIMITS)) {
      const value: unknown = (address as Record<string, unknown>)[name];
      if (value === undefined) continue;
      if (typeof value !== 'string') problems.push(`customer.${field}.${name} must be a string`);
      else if (value.length > max)
        problems.push(`customer.${field}.${name} must be at most ${max} characters`);
    }
  }
  return problems;
}

function IsCustomer(): PropertyDecorator {
  return ValidateBy({
    name: 'isCustomer',
    validator: {
      validate: (value: unknown) => customerProblems(value).length === 0,
      defaultMessage: (args) => customerProblems(args?.value).join('; '),
    },
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * createOrder (D-Store's create_order table). Read tolerantly at the edge (readCreateOrderRequest): fields this table
 * does not declare, such as the further amount fields after orderAmount, are kept verbatim in the stored order.
 */
export class CreateOrderRequest {
  @IsIn(ORDER_CHANNELS)
  orderChannel!: OrderChannel;

  @IsIn(SERVICE_TYPES)
  serviceType!: ServiceType;

  /** D-Store's idempotency key for the order. */
  @Id(ORDER_ID_MAX)
  requestOrderId!: string;

  @Id(POS_ACCOUNT_ID_MAX)
  posAccountId!: string;

  @Id(ID_MAX)
  posStoreId!: string;

  @Id(ID_MAX)
  channelOrderId!: string;

  /** The pickup or dine-in time the customer chose: the store must see it. */
  @IsString()
  @MaxLength(DATETIME_MAX)
  @IsISO8601({}, { message: 'expectFulfillmentTime must be an ISO 8601 datetime' })
  expectFulfillmentTime!: string;

  /** Absent when D-Store cannot obtain it; carries the delivery address. */
  @Optional()
  @IsCustomer()
  customer?: DStoreCustomer;

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

/**
 * pushOrderChange (D-Store's push_order_change table): the channel changed the order. Every field but the two ids is
 * optional, so a push may carry only a delivery status or only item edits.
 */
export class PushOrderChangeRequest {
  /** D-Store's idempotency key of the push. */
  @Id(ID_MAX)
  requestId!: string;

  @Id(ORDER_ID_MAX)
  requestOrderId!: string;

  /** Present only when the status changed. */
  @Optional()
  @IsIn(PUSH_ORDER_CHANGE_STATUSES)
  orderStatus?: PushOrderChangeStatus;

  /** Delivery progress when the channel delivers; its value list is cut off in our copies, so any code is kept. */
  @Optional()
  @Id(DELIVERY_STATUS_MAX)
  deliveryStatus?: string;

  /** GrabFood edits to the items (UpdatedOrderProduct, kept as sent). */
  @Optional()
  @IsArray()
  @ArrayMaxSize(ORDER_PRODUCTS_MAX)
  @IsObject({ each: true })
  @Opaque()
  updatedOrderProducts?: OrderProduct[];

  /** The refund D-Store made when an edit lowered the total (kept as sent). */
  @Optional()
  @IsObject()
  refundInfo?: Record<string, unknown>;

  @Optional()
  @IsExtendInfo()
  @Opaque()
  extendInfo?: ExtendInfo;
}

/**
 * notifyOrderChange (D-Store's notify_order_change table), what we send: strictly the documented fields, each change
 * field optional, so a notification carries only what changed. `posOrderId` is not among them and is never sent.
 */
export class NotifyOrderChangeRequest {
  /** The POS's idempotency key for this notification: the same change is always resent with the same id. */
  @Id(ID_MAX)
  requestId!: string;

  @Id(ORDER_ID_MAX)
  requestOrderId!: string;

  /** The code the buyer shows to collect the order. */
  @Optional()
  @Id(ID_MAX)
  shortOrderNumber?: string;

  @Optional()
  @IsIn(NOTIFY_ORDER_CHANGE_STATUSES)
  orderStatus?: NotifyOrderChangeStatus;

  /** For orders the merchant delivers itself. */
  @Optional()
  @Id(DELIVERY_STATUS_MAX)
  deliveryStatus?: string;

  /** A full or partial refund the merchant starts. */
  @Optional()
  @IsObject()
  @ValidateNested()
  @Type(() => AntomAmount)
  refundAmount?: AntomAmount;

  /**
   * The order ready time (ISO 8601). ASSUMPTION: D-Store's table lists "update the order ready time" among the uses
   * of this API, but the field's name is cut off in every copy we could read; `orderReadyTime` is our reading of it
   * (READY_TIME_FIELD). Rename it here, and only here, once D-Store's table is at hand.
   */
  @Optional()
  @IsString()
  @MaxLength(DATETIME_MAX)
  @IsISO8601({ strict: true }, { message: 'orderReadyTime must be an ISO 8601 datetime' })
  orderReadyTime?: string;
}

/** The notifyOrderChange field that carries the order ready time: an assumption (see NotifyOrderChangeRequest). */
export const READY_TIME_FIELD = 'orderReadyTime' satisfies keyof NotifyOrderChangeRequest;

/** The body of answers that carry only `result` (createOrder, pushOrderChange, notifyOrderChange). */
export class ResultResponse {
  @HasResult()
  result!: AntomResult;
}
