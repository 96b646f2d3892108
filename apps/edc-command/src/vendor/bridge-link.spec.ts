import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBridgeMessage } from '@tillbus/protocols-kicc';
import { commandEnvelope } from './bridge-link';

const params = {
  requestId: 'req-1',
  paymentAmount: { value: '104', currency: 'KRW' },
  tipAmount: { value: '0', currency: 'KRW' },
  creditPayPlan: { installmentNum: '0' },
  acquirerInfo: { acquirerTerminalId: '0788888', acquirerRegistrationNo: '0216001234' },
};

describe('commandEnvelope', () => {
  // edc-command serialises commands without a second validation pass: this is what keeps that safe
  it('always builds a command the protocol codec accepts', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).filter((id) => id !== 'heartbeat'),
        fc.stringMatching(/^[A-Za-z0-9_:-]{1,128}$/),
        fc.integer({ min: 0, max: 2 ** 45 }),
        (deviceId, requestId, at) => {
          const commands = [
            { commandName: 'Purchase' as const, commandRequestParams: { ...params, requestId } },
            {
              commandName: 'GetLastTransaction' as const,
              commandRequestParams: {},
              recoveryOf: 'req-0',
            },
            {
              commandName: 'CommandCancel' as const,
              commandRequestParams: {},
              targetRequestId: 'req-0',
            },
          ];
          for (const command of commands) {
            const envelope = commandEnvelope(
              { deviceId, requestId, notAfter: at + 10_000, ...command },
              at,
            );
            const parsed = parseBridgeMessage(JSON.stringify(envelope), {
              subject: `tillbus.edc.bridge.${deviceId}.command`,
            });
            expect(parsed).toMatchObject({
              type: 'command',
              deviceId,
              requestId,
              commandName: command.commandName,
            });
          }
        },
      ),
    );
  });
});
