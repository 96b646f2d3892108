import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  Equals,
  IsDefined,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  ValidateNested,
} from 'class-validator';

/**
 * `commandRequestParams` and `responseData` of the four KICC commands, field by field from the seed's
 * "Device commands" tables. The seed sends every amount and count as a string of digits ("104", "0").
 */

const DIGITS = /^\d{1,15}$/;

export class KiccAmount {
  @Matches(DIGITS, { message: '$property must be a string of digits' })
  value!: string;

  @Matches(/^[A-Z]{3}$/, { message: '$property must be a 3-letter currency code' })
  currency!: string;
}

export class KiccCreditPayPlan {
  @Matches(DIGITS, { message: '$property must be a string of digits' })
  installmentNum!: string;
}

/** PurchaseCancel: "creditPayPlan.installmentNum | No". */
export class KiccOptionalCreditPayPlan {
  @IsOptional()
  @Matches(DIGITS, { message: '$property must be a string of digits' })
  installmentNum?: string;
}

export class KiccResultInfo {
  @IsString()
  @IsNotEmpty()
  resultCode!: string;

  /** Required, but the seed's samples send it empty. */
  @IsString()
  resultMessage!: string;
}

export class KiccExtendInfo {
  @IsOptional()
  @IsString()
  AD1?: string;

  @IsOptional()
  @IsString()
  AD2?: string;
}

/** A required nested object: present, an object (not an array), and valid. */
function nested(type: () => new () => object) {
  return function (target: object, property: string) {
    IsDefined()(target, property);
    IsObject()(target, property);
    ValidateNested()(target, property);
    Type(type)(target, property);
  };
}

function optionalNested(type: () => new () => object) {
  return function (target: object, property: string) {
    IsOptional()(target, property);
    IsObject()(target, property);
    ValidateNested()(target, property);
    Type(type)(target, property);
  };
}

// ---------------------------------------------------------------- Purchase

export class PurchaseRequestAcquirerInfo {
  @IsString()
  @IsNotEmpty()
  acquirerTerminalId!: string;

  @IsString()
  @IsNotEmpty()
  acquirerRegistrationNo!: string;
}

export class PurchaseRequest {
  @IsString()
  @IsNotEmpty()
  requestId!: string;

  @nested(() => KiccAmount)
  paymentAmount!: KiccAmount;

  /** Not in the request table, but in the seed's sendCommand sample. */
  @optionalNested(() => KiccAmount)
  taxAmount?: KiccAmount;

  @nested(() => KiccAmount)
  tipAmount!: KiccAmount;

  @nested(() => KiccCreditPayPlan)
  creditPayPlan!: KiccCreditPayPlan;

  /** Seconds, as a string ("30"); the device waits 30 s for a card when absent. */
  @IsOptional()
  @Matches(/^[1-9]\d{0,5}$/, {
    message: '$property must be a whole number of seconds, as a string',
  })
  paymentExpiryTime?: string;

  @nested(() => PurchaseRequestAcquirerInfo)
  acquirerInfo!: PurchaseRequestAcquirerInfo;
}

export class PurchaseResponseAcquirerInfo {
  @IsOptional()
  @IsString()
  acquirerResultCode?: string;

  @IsOptional()
  @IsString()
  acquirerResultMessage?: string;

  @IsString()
  acquirerTerminalId!: string;

  @IsString()
  acquirerRegistrationNo!: string;

  /** Only in signed transactions. Private: see PRIVATE_RESULT_FIELDS. */
  @IsOptional()
  @IsString()
  signData?: string;

  @IsOptional()
  @IsString()
  notice?: string;

  @IsString()
  acquirerTransactionId!: string;

  @IsString()
  acquirerMerchantId!: string;

  @IsString()
  acquirerName!: string;

  /** Needed for the PurchaseCancel of this payment. Private: never logged or published. */
  @IsString()
  @IsNotEmpty()
  acquirerMetaData!: string;

  @IsString()
  acquirerApprovalNum!: string;
}

export class KiccPaymentResultInfo {
  /** "first eight digits of the card": the only card data that may leave the device. */
  @IsOptional()
  @Matches(/^(\d{6,8})?$/, { message: '$property must be a BIN of 6 to 8 digits' })
  cardBin?: string;

  /** A wallet barcode in wallet payments. Private: see PRIVATE_RESULT_FIELDS. */
  @IsOptional()
  @IsString()
  paymentMethodId?: string;

  @IsString()
  issuerCode!: string;

  @IsString()
  funding!: string;

  @IsString()
  paymentMethodRegion!: string;

  @IsString()
  paymentMethodType!: string;
}

export class PurchaseResponse {
  @IsString()
  @IsNotEmpty()
  requestId!: string;

  @nested(() => KiccAmount)
  paymentAmount!: KiccAmount;

  @nested(() => KiccAmount)
  taxAmount!: KiccAmount;

  @nested(() => KiccAmount)
  tipAmount!: KiccAmount;

  @nested(() => KiccCreditPayPlan)
  creditPayPlan!: KiccCreditPayPlan;

  @nested(() => KiccResultInfo)
  result!: KiccResultInfo;

  @nested(() => PurchaseResponseAcquirerInfo)
  acquirerInfo!: PurchaseResponseAcquirerInfo;

  @nested(() => KiccPaymentResultInfo)
  paymentResultInfo!: KiccPaymentResultInfo;

  @optionalNested(() => KiccExtendInfo)
  extendInfo?: KiccExtendInfo;
}

// ---------------------------------------------------------------- PurchaseCancel

export class PurchaseCancelRequestAcquirerInfo {
  /** `acquirerInfo.acquirerMetaData` of the Purchase being cancelled. */
  @IsString()
  @IsNotEmpty()
  acquirerMetaData!: string;

  @IsOptional()
  @IsString()
  acquirerTerminalId?: string;

  @IsOptional()
  @IsString()
  acquirerRegistrationNo?: string;
}

export class PurchaseCancelRequest {
  /** The cancel's own id, unique for each request; not the Purchase's. */
  @IsString()
  @IsNotEmpty()
  requestId!: string;

  @nested(() => KiccAmount)
  paymentAmount!: KiccAmount;

  @nested(() => KiccAmount)
  tipAmount!: KiccAmount;

  @optionalNested(() => KiccOptionalCreditPayPlan)
  creditPayPlan?: KiccOptionalCreditPayPlan;

  @nested(() => PurchaseCancelRequestAcquirerInfo)
  acquirerInfo!: PurchaseCancelRequestAcquirerInfo;
}

export class PurchaseCancelResponseAcquirerInfo {
  @IsOptional()
  @IsString()
  notice?: string;

  @IsString()
  acquirerResultCode!: string;

  @IsOptional()
  @IsString()
  acquirerResultMessage?: string;

  @IsOptional()
  @IsString()
  acquirerTerminalId?: string;

  @IsOptional()
  @IsString()
  acquirerRegistrationNo?: string;

  @IsString()
  acquirerApprovalNum!: string;

  @IsString()
  acquirerMerchantId!: string;

  @IsString()
  acquirerTransactionId!: string;

  @IsOptional()
  @IsString()
  acquirerMetaData?: string;

  @IsString()
  acquirerName!: string;
}

export class PurchaseCancelResponse {
  @IsString()
  @IsNotEmpty()
  requestId!: string;

  @nested(() => KiccResultInfo)
  result!: KiccResultInfo;

  @nested(() => KiccAmount)
  paymentAmount!: KiccAmount;

  @nested(() => KiccAmount)
  taxAmount!: KiccAmount;

  @nested(() => KiccAmount)
  tipAmount!: KiccAmount;

  @nested(() => KiccCreditPayPlan)
  creditPayPlan!: KiccCreditPayPlan;

  @nested(() => PurchaseCancelResponseAcquirerInfo)
  acquirerInfo!: PurchaseCancelResponseAcquirerInfo;

  @optionalNested(() => KiccExtendInfo)
  extendInfo?: KiccExtendInfo;
}

// ---------------------------------------------------------------- GetLastTransaction

/**
 * The seed gives GetLastTransaction no field table, only a successful Purchase sample whose acquirerInfo lacks
 * fields the Purchase table requires; the last transaction may also have failed. Every acquirerInfo field is
 * therefore optional here, typed when present.
 */
export class LastTransactionAcquirerInfo {
  @IsOptional()
  @IsString()
  acquirerTerminalId?: string;

  @IsOptional()
  @IsString()
  acquirerRegistrationNo?: string;

  @IsOptional()
  @IsString()
  acquirerResultCode?: string;

  @IsOptional()
  @IsString()
  acquirerResultMessage?: string;

  @IsOptional()
  @IsString()
  acquirerTransactionId?: string;

  @IsOptional()
  @IsString()
  acquirerMerchantId?: string;

  @IsOptional()
  @IsString()
  acquirerApprovalNum?: string;

  @IsOptional()
  @IsString()
  acquirerName?: string;

  @IsOptional()
  @IsString()
  notice?: string;

  @IsOptional()
  @IsString()
  signData?: string;

  @IsOptional()
  @IsString()
  acquirerMetaData?: string;
}

abstract class LastTransactionCommon {
  /** Absent from the seed's sample; present, it identifies the transaction. */
  @IsOptional()
  @IsString()
  requestId?: string;

  @nested(() => KiccAmount)
  paymentAmount!: KiccAmount;

  @nested(() => KiccAmount)
  taxAmount!: KiccAmount;

  @nested(() => KiccAmount)
  tipAmount!: KiccAmount;

  @nested(() => KiccCreditPayPlan)
  creditPayPlan!: KiccCreditPayPlan;

  @nested(() => KiccResultInfo)
  result!: KiccResultInfo;

  @nested(() => LastTransactionAcquirerInfo)
  acquirerInfo!: LastTransactionAcquirerInfo;

  @optionalNested(() => KiccExtendInfo)
  extendInfo?: KiccExtendInfo;
}

export class LastPurchaseResponse extends LastTransactionCommon {
  @Equals('Purchase')
  responseCommand!: 'Purchase';

  @optionalNested(() => KiccPaymentResultInfo)
  paymentResultInfo?: KiccPaymentResultInfo;
}

export class LastPurchaseCancelResponse extends LastTransactionCommon {
  @Equals('PurchaseCancel')
  responseCommand!: 'PurchaseCancel';
}

export type GetLastTransactionResponse = LastPurchaseResponse | LastPurchaseCancelResponse;

// ---------------------------------------------------------------- failures

/** `responseData` of `onBusinessFailed(CommandResult)`: the seed's sample has requestId, result, `acquirerInfo: {}`. */
export class KiccBusinessFailureData {
  @IsOptional()
  @IsString()
  requestId?: string;

  @nested(() => KiccResultInfo)
  result!: KiccResultInfo;

  @optionalNested(() => LastTransactionAcquirerInfo)
  acquirerInfo?: LastTransactionAcquirerInfo;
}
