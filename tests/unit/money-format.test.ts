/**
 * Money as people read it (platform/currencies.ts, formatMinor): every amount in its currency's own
 * units, from the currency table's minor-unit exponent, and the notice templates show exactly that.
 */
import fc from 'fast-check';
import { CURRENCIES, formatMinor } from '../../platform/currencies';
import { render } from '../../modules/events/templates';

const codes = [...CURRENCIES.keys()];
/** Every amount formatMinor promises to show exactly (|amount| < 2^52). */
const amount = fc.integer({ min: -(2 ** 52 - 1), max: 2 ** 52 - 1 });

describe('formatMinor (platform/currencies.ts: an amount in its currency\'s own units)', () => {
  it('shows every digit of the amount, with exactly the exponent\'s decimals, for every currency in the table', () => {
    fc.assert(
      fc.property(fc.constantFrom(...codes), amount, (code, amountMinor) => {
        const { exponent } = CURRENCIES.get(code)!;
        const shown = formatMinor(amountMinor, code);
        const digits = Math.abs(amountMinor).toString().padStart(exponent + 1, '0');
        expect(shown.replace(/\D/g, '')).toBe(digits); // no digit lost, none invented (symbols and codes carry none)
        expect(shown.match(/\.(\d+)$/)?.[1]?.length ?? 0).toBe(exponent);
        expect(shown.startsWith('-')).toBe(amountMinor < 0);
        // Grouped in threes, as English readers expect.
        expect(shown.replace(/^-?\D*/, '').split('.')[0]).toMatch(/^\d{1,3}(,\d{3})*$/);
      }),
    );
  });

  it('is exact: the same as formatting the decimal itself (no binary rounding of the division)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...codes), amount, (code, amountMinor) => {
        const { exponent } = CURRENCIES.get(code)!;
        const exact = new Intl.NumberFormat('en-US', { style: 'currency', currency: code, minimumFractionDigits: exponent, maximumFractionDigits: exponent });
        // Node formats a decimal string exactly (Intl.NumberFormat v3); the library's types predate it.
        expect(formatMinor(amountMinor, code)).toBe(exact.format(`${amountMinor}E-${exponent}` as unknown as number));
      }),
    );
  });

  it('JPY has no minor unit, USD two decimals, KWD three', () => {
    expect(formatMinor(2533, 'JPY')).toBe('¥2,533');
    expect(formatMinor(2533, 'USD')).toBe('$25.33');
    expect(formatMinor(3, 'KWD')).toBe('KWD\u00a00.003');
    expect(formatMinor(1234567, 'KWD')).toBe('KWD\u00a01,234.567');
    expect(formatMinor(-5, 'EUR')).toBe('-€0.05');
  });

  it('a currency outside the table gets its ISO 4217 decimals', () => {
    expect(formatMinor(2533, 'ISK')).toBe('ISK\u00a02,533');
    expect(formatMinor(2533, 'TND')).toBe('TND\u00a02.533');
  });
});

describe('notice templates show amounts with formatMinor', () => {
  it('in every channel, for every currency and amount', () => {
    fc.assert(
      fc.property(fc.constantFrom(...codes), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (currency, amountMinor) => {
        const shown = formatMinor(amountMinor, currency);
        const paid = { orderId: 'o-1', packageCode: 'pro', amountMinor, currency, paidAt: '2026-11-20T10:00:00.000Z' };
        const refunded = { orderId: 'o-1', amountMinor, currency, reason: null, revokedGrantIds: [] };
        expect(render('order.paid', paid, 'inApp')!.body).toContain(shown);
        expect(render('order.paid', paid, 'email')!.text).toContain(shown);
        expect(render('order.refunded', refunded, 'inApp')!.body).toContain(shown);
        expect(render('order.refunded', refunded, 'email')!.text).toContain(shown);
      }),
    );
  });

  it('a yen payment of 2533 reads ¥2,533, not 25.33', () => {
    const email = render('order.paid', { orderId: 'o-1', packageCode: 'pro', amountMinor: 2533, currency: 'JPY', paidAt: '2026-11-20T10:00:00.000Z' }, 'email')!;
    expect(email.text).toContain('your payment of ¥2,533 for pro');
  });
});
