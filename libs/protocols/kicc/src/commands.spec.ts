import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  matchLastTransaction,
  parseKiccBusinessFailure,
  parseKiccCommandRequest,
  parseKiccCommandResponse,
  type GetLastTransactionResponse,
} from './commands';
import { KiccProtocolError } from './errors';
import {
  ACQUIRER_META_DATA,
  businessFailure,
  errorOf,
  lastPurchaseCancelResponse,
  lastPurchaseResponse,
  purchaseCancelRequest,
  purchaseCancelResponse,
  purchaseRequest,
  purchaseResponse,
  without,
  withValue,
} from './test/fixtures';

function violatedFields(run: () => unknown): string[] {
  const error = errorOf(run);
  expect(error.code).toBe('INVALID_COMMAND');
  return (error.details?.violations as { field: string }[]).map((v) => v.field);
}

describe('Purchase request', () => {
  it('accepts the seed sample', () => {
    expect(parseKiccCommandRequest('Purchase', purchaseRequest())).toEqual(purchaseRequest());
  });

  it('accepts the taxAmount of the sendCommand sample and no paymentExpiryTime', () => {
    const input = {
      ...without(purchaseRequest(), 'paymentExpiryTime'),
      taxAmount: { value: '9', currency: 'KRW' },
    };
    expect(parseKiccCommandRequest('Purchase', input)).toEqual(input);
  });

  // seed: Purchase request parameters marked Required: Yes
  it.each([
    'requestId',
    'paymentAmount',
    'paymentAmount.value',
    'paymentAmount.currency',
    'tipAmount',
    'tipAmount.value',
    'tipAmount.currency',
    'creditPayPlan',
    'creditPayPlan.installmentNum',
    'acquirerInfo',
    'acquirerInfo.acquirerTerminalId',
    'acquirerInfo.acquirerRegistrationNo',
  ])('refuses it without %s', (path) => {
    expect(
      violatedFields(() => parseKiccCommandRequest('Purchase', without(purchaseRequest(), path))),
    ).toContain(path);
  });

  it.each([
    ['requestId', 123456],
    ['requestId', ''],
    ['paymentAmount', '104'],
    ['paymentAmount.value', 104],
    ['paymentAmount.value', '10.4'],
    ['paymentAmount.value', '-1'],
    ['paymentAmount.currency', 'krw'],
    ['tipAmount.value', null],
    ['creditPayPlan.installmentNum', 0],
    ['paymentExpiryTime', 30],
    ['paymentExpiryTime', '0'],
    ['acquirerInfo.acquirerTerminalId', 788888],
    ['acquirerInfo', []],
  ])('refuses %s = %j', (path, value) => {
    expect(
      violatedFields(() =>
        parseKiccCommandRequest('Purchase', withValue(purchaseRequest(), path, value)),
      ),
    ).toContain(path);
  });

  it('refuses a field the seed does not define', () => {
    expect(
      violatedFields(() =>
        parseKiccCommandRequest('Purchase', { ...purchaseRequest(), memo: 'x' }),
      ),
    ).toEqual(['memo']);
  });

  it('refuses card data before it is validated', () => {
    const error = errorOf(() =>
      parseKiccCommandRequest('Purchase', { ...purchaseRequest(), cardNumber: 'x' }),
    );
    expect(error.code).toBe('CARD_DATA_REFUSED');
    expect(error.details).toEqual({ paths: ['cardNumber'] });
  });

  it.each([null, 'text', 42, [], [purchaseRequest()]])('refuses %j as params', (input) => {
    expect(errorOf(() => parseKiccCommandRequest('Purchase', input)).code).toBe('INVALID_COMMAND');
  });
});

describe('Purchase response', () => {
  it('accepts the seed sample', () => {
    expect(parseKiccCommandResponse('Purchase', purchaseResponse())).toEqual(purchaseResponse());
  });

  it('accepts the optional fields missing, and signData and extendInfo present', () => {
    let input = purchaseResponse();
    for (const path of [
      'acquirerInfo.acquirerResultCode',
      'acquirerInfo.acquirerResultMessage',
      'acquirerInfo.notice',
      'paymentResultInfo.cardBin',
      'paymentResultInfo.paymentMethodId',
    ]) {
      input = without(input, path);
    }
    const full = withValue(withValue(input, 'acquirerInfo.signData', 'c2ln'), 'extendInfo', {
      AD1: 'a',
      AD2: 'b',
    });
    expect(parseKiccCommandResponse('Purchase', input)).toEqual(input);
    expect(parseKiccCommandResponse('Purchase', full)).toEqual(full);
  });

  // seed: Purchase returned parameters marked Required: Yes
  it.each([
    'requestId',
    'paymentAmount.value',
    'paymentAmount.currency',
    'taxAmount',
    'taxAmount.value',
    'taxAmount.currency',
    'tipAmount.value',
    'tipAmount.currency',
    'creditPayPlan.installmentNum',
    'result',
    'result.resultCode',
    'result.resultMessage',
    'acquirerInfo.acquirerTerminalId',
    'acquirerInfo.acquirerRegistrationNo',
    'acquirerInfo.acquirerTransactionId',
    'acquirerInfo.acquirerMerchantId',
    'acquirerInfo.acquirerName',
    'acquirerInfo.acquirerMetaData',
    'acquirerInfo.acquirerApprovalNum',
    'paymentResultInfo',
    'paymentResultInfo.issuerCode',
    'paymentResultInfo.funding',
    'paymentResultInfo.paymentMethodRegion',
    'paymentResultInfo.paymentMethodType',
  ])('refuses it without %s', (path) => {
    expect(
      violatedFields(() => parseKiccCommandResponse('Purchase', without(purchaseResponse(), path))),
    ).toContain(path);
  });

  it.each([
    ['result.resultCode', 0],
    ['acquirerInfo.acquirerMetaData', ''],
    ['acquirerInfo.signData', 1],
    ['paymentResultInfo.issuerCode', null],
    ['extendInfo.AD1', 5],
  ])('refuses %s = %j', (path, value) => {
    const input = withValue({ ...purchaseResponse(), extendInfo: {} }, path, value);
    expect(violatedFields(() => parseKiccCommandResponse('Purchase', input))).toContain(path);
  });

  it.each(['5236497912345678', '5236', 'abcdef', 52364979])(
    'refuses a cardBin of %j as card data',
    (cardBin) => {
      const error = errorOf(() =>
        parseKiccCommandResponse(
          'Purchase',
          withValue(purchaseResponse(), 'paymentResultInfo.cardBin', cardBin),
        ),
      );
      expect(error.code).toBe('CARD_DATA_REFUSED');
      expect(error.details).toEqual({ paths: ['paymentResultInfo.cardBin'] });
      expect(error.message).not.toContain(String(cardBin));
    },
  );

  it('drops fields the seed does not list', () => {
    const parsed = parseKiccCommandResponse('Purchase', {
      ...purchaseResponse(),
      vendorExtra: { a: 1 },
    });
    expect(parsed).toEqual(purchaseResponse());
    expect('vendorExtra' in parsed).toBe(false);
  });

  it('refuses track data anywhere', () => {
    const input = withValue(purchaseResponse(), 'acquirerInfo.notice', ';5236497912345678=2512101');
    expect(errorOf(() => parseKiccCommandResponse('Purchase', input)).code).toBe(
      'CARD_DATA_REFUSED',
    );
  });
});

describe('PurchaseCancel request', () => {
  it('accepts the seed sample, and the optional fields missing', () => {
    expect(parseKiccCommandRequest('PurchaseCancel', purchaseCancelRequest())).toEqual(
      purchaseCancelRequest(),
    );
    const minimal = without(
      without(without(purchaseCancelRequest(), 'creditPayPlan'), 'acquirerInfo.acquirerTerminalId'),
      'acquirerInfo.acquirerRegistrationNo',
    );
    expect(parseKiccCommandRequest('PurchaseCancel', minimal)).toEqual(minimal);
  });

  it.each([
    'requestId',
    'paymentAmount',
    'paymentAmount.value',
    'paymentAmount.currency',
    'tipAmount',
    'tipAmount.value',
    'tipAmount.currency',
    'acquirerInfo',
    'acquirerInfo.acquirerMetaData',
  ])('refuses it without %s', (path) => {
    expect(
      violatedFields(() =>
        parseKiccCommandRequest('PurchaseCancel', without(purchaseCancelRequest(), path)),
      ),
    ).toContain(path);
  });

  it.each([
    ['acquirerInfo.acquirerMetaData', ''],
    ['acquirerInfo.acquirerMetaData', 1],
    ['acquirerInfo.acquirerTerminalId', 1],
    ['creditPayPlan.installmentNum', 'zero'],
    ['paymentAmount.value', 104],
  ])('refuses %s = %j', (path, value) => {
    expect(
      violatedFields(() =>
        parseKiccCommandRequest('PurchaseCancel', withValue(purchaseCancelRequest(), path, value)),
      ),
    ).toContain(path);
  });

  it('refuses a taxAmount: the PurchaseCancel table has none', () => {
    const input = { ...purchaseCancelRequest(), taxAmount: { value: '9', currency: 'KRW' } };
    expect(violatedFields(() => parseKiccCommandRequest('PurchaseCancel', input))).toEqual([
      'taxAmount',
    ]);
  });
});

describe('PurchaseCancel response', () => {
  it('accepts the seed sample, with acquirerMetaData and extendInfo or without', () => {
    expect(parseKiccCommandResponse('PurchaseCancel', purchaseCancelResponse())).toEqual(
      purchaseCancelResponse(),
    );
    const full = {
      ...withValue(purchaseCancelResponse(), 'acquirerInfo.acquirerMetaData', ACQUIRER_META_DATA),
      extendInfo: { AD1: 'x' },
    };
    expect(parseKiccCommandResponse('PurchaseCancel', full)).toEqual(full);
  });

  it.each([
    'requestId',
    'result.resultCode',
    'result.resultMessage',
    'paymentAmount.value',
    'taxAmount.currency',
    'tipAmount',
    'creditPayPlan.installmentNum',
    'acquirerInfo.acquirerResultCode',
    'acquirerInfo.acquirerApprovalNum',
    'acquirerInfo.acquirerMerchantId',
    'acquirerInfo.acquirerTransactionId',
    'acquirerInfo.acquirerName',
  ])('refuses it without %s', (path) => {
    expect(
      violatedFields(() =>
        parseKiccCommandResponse('PurchaseCancel', without(purchaseCancelResponse(), path)),
      ),
    ).toContain(path);
  });

  it.each([
    'acquirerInfo.notice',
    'acquirerInfo.acquirerResultMessage',
    'acquirerInfo.acquirerTerminalId',
    'acquirerInfo.acquirerRegistrationNo',
  ])('accepts it without the optional %s', (path) => {
    const input = without(purchaseCancelResponse(), path);
    expect(parseKiccCommandResponse('PurchaseCancel', input)).toEqual(input);
  });
});

describe('GetLastTransaction', () => {
  it.each(['GetLastTransaction', 'CommandCancel'] as const)(
    '%s takes an empty JSONObject and nothing else',
    (name) => {
      expect(parseKiccCommandRequest(name, {})).toEqual({});
      expect(errorOf(() => parseKiccCommandRequest(name, { requestId: 'x' })).message).toBe(
        `${name} request takes no parameters`,
      );
    },
  );

  it('reads the seed Purchase shape, keyed on responseCommand', () => {
    const parsed = parseKiccCommandResponse('GetLastTransaction', lastPurchaseResponse());
    expect(parsed.responseCommand).toBe('Purchase');
    expect(parsed).toEqual(lastPurchaseResponse());
  });

  it('reads the PurchaseCancel shape, keyed on responseCommand', () => {
    const parsed = parseKiccCommandResponse('GetLastTransaction', lastPurchaseCancelResponse());
    expect(parsed.responseCommand).toBe('PurchaseCancel');
    expect(parsed).toEqual(lastPurchaseCancelResponse());
  });

  it('keeps paymentResultInfo for a Purchase and drops it for a PurchaseCancel', () => {
    const info = purchaseResponse().paymentResultInfo;
    expect(
      parseKiccCommandResponse('GetLastTransaction', {
        ...lastPurchaseResponse(),
        paymentResultInfo: info,
      }),
    ).toMatchObject({
      paymentResultInfo: info,
    });
    expect(
      parseKiccCommandResponse('GetLastTransaction', {
        ...lastPurchaseCancelResponse(),
        paymentResultInfo: info,
      }),
    ).not.toHaveProperty('paymentResultInfo');
  });

  it.each([undefined, 'Refund', 'purchase', 1])('refuses responseCommand %j', (responseCommand) => {
    const input = { ...lastPurchaseResponse(), responseCommand };
    expect(errorOf(() => parseKiccCommandResponse('GetLastTransaction', input)).message).toBe(
      'GetLastTransaction response: responseCommand must be Purchase or PurchaseCancel',
    );
  });

  it.each(['paymentAmount', 'taxAmount', 'tipAmount', 'creditPayPlan', 'result', 'acquirerInfo'])(
    'refuses either shape without %s',
    (path) => {
      for (const sample of [lastPurchaseResponse(), lastPurchaseCancelResponse()]) {
        expect(
          violatedFields(() =>
            parseKiccCommandResponse('GetLastTransaction', without(sample, path)),
          ),
        ).toContain(path);
      }
    },
  );

  it('reads a failed last transaction with an empty acquirerInfo', () => {
    const failed = {
      ...lastPurchaseResponse(),
      result: { resultCode: 'PROCESS_FAIL', resultMessage: 'x' },
      acquirerInfo: {},
    };
    expect(parseKiccCommandResponse('GetLastTransaction', failed)).toEqual(failed);
  });
});

describe('CommandCancel response and business failures', () => {
  it('passes a CommandCancel responseData through unread', () => {
    expect(parseKiccCommandResponse('CommandCancel', { anything: 1 })).toEqual({ anything: 1 });
  });

  it('reads the seed onBusinessFailed sample', () => {
    expect(parseKiccBusinessFailure(businessFailure())).toEqual(businessFailure());
    expect(
      violatedFields(() =>
        parseKiccBusinessFailure(without(businessFailure(), 'result.resultCode')),
      ),
    ).toEqual(['result.resultCode']);
  });
});

describe('matchLastTransaction', () => {
  const purchase = {
    commandName: 'Purchase' as const,
    requestId: '123456XXXX',
    paymentAmount: { value: '104', currency: 'KRW' },
    acquirerTerminalId: '0788888',
  };
  const last = (overrides: Record<string, unknown> = {}) =>
    parseKiccCommandResponse('GetLastTransaction', {
      ...lastPurchaseResponse(),
      ...overrides,
    }) as GetLastTransactionResponse;

  it.each([
    ['ours, succeeded', { requestId: '123456XXXX' }, {}, 'succeeded', 'SUCCESS'],
    [
      'ours, declined',
      {
        requestId: '123456XXXX',
        result: { resultCode: 'USER_BALANCE_NOT_ENOUGH', resultMessage: '' },
      },
      {},
      'failed',
      'USER_BALANCE_NOT_ENOUGH',
    ],
    [
      'ours, unknown',
      { requestId: '123456XXXX', result: { resultCode: 'UNKNOWN', resultMessage: '' } },
      {},
      'inconclusive',
      'UNKNOWN',
    ],
    ['another request', { requestId: 'older' }, {}, 'inconclusive', undefined],
    ['no requestId', {}, {}, 'inconclusive', undefined],
    [
      "no requestId, a newer transaction than the device's previous one",
      {},
      { acceptWithoutRequestId: { previousTransactionId: '000122' } },
      'succeeded',
      'SUCCESS',
    ],
    [
      "no requestId, the device's previous transaction",
      {},
      { acceptWithoutRequestId: { previousTransactionId: '000123' } },
      'inconclusive',
      undefined,
    ],
    [
      'no requestId, the device had no transaction before this command',
      {},
      { acceptWithoutRequestId: { previousTransactionId: null } },
      'succeeded',
      'SUCCESS',
    ],
    [
      'no requestId, no earlier transaction, but another amount',
      { paymentAmount: { value: '105', currency: 'KRW' } },
      { acceptWithoutRequestId: { previousTransactionId: null } },
      'inconclusive',
      undefined,
    ],
    [
      'no requestId, no earlier transaction, but a failure',
      { result: { resultCode: 'USER_BALANCE_NOT_ENOUGH', resultMessage: '' } },
      { acceptWithoutRequestId: { previousTransactionId: null } },
      'inconclusive',
      'USER_BALANCE_NOT_ENOUGH',
    ],
    [
      'no requestId, no earlier transaction, but a PurchaseCancel',
      lastPurchaseCancelResponse(),
      { acceptWithoutRequestId: { previousTransactionId: null } },
      'inconclusive',
      undefined,
    ],
    [
      'no requestId, another amount',
      { paymentAmount: { value: '105', currency: 'KRW' } },
      { acceptWithoutRequestId: { previousTransactionId: '000122' } },
      'inconclusive',
      undefined,
    ],
    [
      'no requestId, another currency',
      { paymentAmount: { value: '104', currency: 'USD' } },
      { acceptWithoutRequestId: { previousTransactionId: '000122' } },
      'inconclusive',
      undefined,
    ],
    [
      'no requestId, a failure (it may be an older one)',
      { result: { resultCode: 'USER_BALANCE_NOT_ENOUGH', resultMessage: '' } },
      { acceptWithoutRequestId: { previousTransactionId: '000122' } },
      'inconclusive',
      'USER_BALANCE_NOT_ENOUGH',
    ],
    [
      'no requestId, no acquirerTransactionId',
      { acquirerInfo: { acquirerTerminalId: '0788888' } },
      { acceptWithoutRequestId: { previousTransactionId: '000122' } },
      'inconclusive',
      undefined,
    ],
    [
      'no requestId, another acquirer terminal',
      { acquirerInfo: { acquirerTerminalId: '0799999', acquirerTransactionId: '000124' } },
      { acceptWithoutRequestId: { previousTransactionId: '000122' } },
      'inconclusive',
      undefined,
    ],
    [
      'another request, whatever the evidence',
      { requestId: 'older' },
      { acceptWithoutRequestId: { previousTransactionId: '000122' } },
      'inconclusive',
      undefined,
    ],
    [
      'a PurchaseCancel',
      { ...lastPurchaseCancelResponse(), requestId: '123456XXXX' },
      {},
      'inconclusive',
      undefined,
    ],
  ])('%s', (_label, overrides, options, verdict, code) => {
    const match = matchLastTransaction(purchase, last(overrides), options);
    expect(match.verdict).toBe(verdict);
    expect(match.code).toBe(code);
  });
});

describe('fuzzing', () => {
  const names = fc.constantFrom(
    'Purchase',
    'PurchaseCancel',
    'GetLastTransaction',
    'CommandCancel' as const,
  );

  it.each([
    ['anything', fc.anything()],
    ['json', fc.json().map((text) => JSON.parse(text) as unknown)],
    [
      'a mutated sample',
      fc
        .constantFrom(purchaseResponse(), lastPurchaseResponse(), purchaseRequest())
        .chain((sample) =>
          fc
            .tuple(fc.constant(sample), fc.anything())
            .map(([s, junk]) => ({ ...s, acquirerInfo: junk, paymentAmount: junk })),
        ),
    ],
  ])('every parser returns or throws KiccProtocolError for %s', (_label, arbitrary) => {
    fc.assert(
      fc.property(names, arbitrary, (name, input) => {
        for (const parse of [
          () => parseKiccCommandRequest(name, input),
          () => parseKiccCommandResponse(name, input),
          () => parseKiccBusinessFailure(input),
        ]) {
          try {
            parse();
          } catch (error) {
            expect(error).toBeInstanceOf(KiccProtocolError);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
