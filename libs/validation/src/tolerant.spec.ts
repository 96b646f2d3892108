import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readVendorMessage } from './tolerant';

const STATUSES = ['OK', 'OutOfPaper'] as const;

class Printer {
  @IsIn(STATUSES) status!: string;
}
class Answer {
  @IsString() @MaxLength(8) id!: string;
  @IsOptional() @IsInt() amount?: number;
  @IsOptional() @ValidateNested() @Type(() => Printer) printer?: Printer;
  @IsOptional() @IsIn(STATUSES, { each: true }) history?: string[];
}

describe('readVendorMessage (the tolerant-reader rule)', () => {
  it('keeps an unknown field verbatim and names it', () => {
    const r = readVendorMessage(Answer, { id: 'a', added: { deep: [1, 'x'] } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect((r.value as unknown as Record<string, unknown>).added).toEqual({ deep: [1, 'x'] });
    expect(r.unknownFields).toEqual(['added']);
    expect(r.unrecognised).toEqual([]);
  });

  it('keeps unknown fields of nested objects, with their path', () => {
    const r = readVendorMessage(Answer, { id: 'a', printer: { status: 'OK', tray: 2 } });
    expect(r.ok && r.unknownFields).toEqual(['printer.tray']);
    expect(r.ok && (r.value.printer as unknown as Record<string, unknown>).tray).toBe(2);
  });

  it('reports an unknown enum value as unrecognised and still uses the message', () => {
    const r = readVendorMessage(Answer, { id: 'a', amount: 5, printer: { status: 'Jammed' } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.amount).toBe(5);
    expect(r.value.printer?.status).toBe('Jammed');
    expect(r.unrecognised).toEqual([{ field: 'printer.status', value: 'Jammed' }]);
  });

  it('reports an unknown value in a multi-valued vocabulary', () => {
    const r = readVendorMessage(Answer, { id: 'a', history: ['OK', 'New'] });
    expect(r.ok && r.unrecognised).toEqual([{ field: 'history', value: ['OK', 'New'] }]);
  });

  it.each([
    ['a missing required field', { amount: 1 }, 'id'],
    ['a wrong type', { id: 'a', amount: 'five' }, 'amount'],
    ['a size limit', { id: 'far-too-long' }, 'id'],
    [
      'a non-string where a code is expected',
      { id: 'a', printer: { status: 7 } },
      'printer.status',
    ],
  ])('refuses %s, naming the field', (_label, input, field) => {
    const r = readVendorMessage(Answer, input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.violations.map((v) => v.field)).toContain(field);
  });

  it.each([null, [], 'text', 3])('refuses %j as not an object', (input) => {
    expect(readVendorMessage(Answer, input, { root: 'body' })).toMatchObject({
      ok: false,
      violations: [{ field: 'body' }],
    });
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (input) => {
        readVendorMessage(Answer, input);
      }),
    );
  });
});
