/** The pure reading of payment notifications (modules/payments/webhook-events.ts) and the gateway's signature-shape check. */
import fc from 'fast-check';
import { looksSigned, withSignature } from '../../modules/payments/rules/gateway-signature';
import { BillingError } from '../../platform/errors';
import { MAX_EVENT_DEPTH, checkoutSessionSchema, gatewayParams, refuseUnstorable, stripeEventSchema } from '../../modules/payments/webhook-events';

function refusal(run: () => unknown): { code: string; paths: string[] } | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!(error instanceof BillingError)) throw error;
    return { code: error.code, paths: (error.details?.issues as Array<{ path: string }>).map((issue) => issue.path) };
  }
}

describe('looksSigned', () => {
  it('accepts 64 lower-case hex digits only', () => {
    expect(looksSigned(withSignature({ a: '1' }, 'a-secret-of-sixteen'))).toBe(true);
    for (const sign of [undefined, '', 'F'.repeat(64), 'f'.repeat(63), `${'f'.repeat(64)} `]) expect(looksSigned(sign === undefined ? {} : { sign })).toBe(false);
  });
});

describe('refuseUnstorable', () => {
  it('lets through any text PostgreSQL stores, surrogate pairs (emoji) included', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'grapheme', maxDepth: 5 }), (value) => {
        expect(refusal(() => refuseUnstorable(value, 'x'))).toBeUndefined();
      }),
    );
    expect(refusal(() => refuseUnstorable({ note: 'paid \u{1F600}' }, 'x'))).toBeUndefined();
  });

  it('refuses NUL and unpaired surrogates in keys and values, naming the path under body', () => {
    expect(refusal(() => refuseUnstorable({ a: ['ok', 'b\u0000'] }, 'x'))).toEqual({ code: 'VALIDATION_FAILED', paths: ['body.a.1'] });
    expect(refusal(() => refuseUnstorable({ a: { 'k\ud800': 1 } }, 'x'))).toEqual({ code: 'VALIDATION_FAILED', paths: ['body.a.k\ud800'] });
    expect(refusal(() => refuseUnstorable('\udc00 alone', 'x'))?.paths).toEqual(['body']);
  });

  it(`refuses nesting deeper than ${MAX_EVENT_DEPTH} levels, without recursing`, () => {
    const nested = (depth: number) => {
      let value: unknown = 1;
      for (let level = 0; level < depth; level++) value = [value];
      return value;
    };
    expect(refusal(() => refuseUnstorable(nested(MAX_EVENT_DEPTH), 'x'))).toBeUndefined();
    expect(refusal(() => refuseUnstorable(nested(MAX_EVENT_DEPTH + 1), 'x'))?.code).toBe('VALIDATION_FAILED');
    expect(refusal(() => refuseUnstorable(nested(100_000), 'x'))?.code).toBe('VALIDATION_FAILED');
  });
});

describe('Stripe schemas', () => {
  const session = { id: 'cs_1', object: 'checkout.session', payment_status: 'paid', amount_total: 1000, currency: 'usd', payment_intent: 'pi_1', metadata: { orderId: 'o', other: 'x' } };

  it('read a real-shaped event and session; extra fields are ignored', () => {
    expect(stripeEventSchema.safeParse({ id: 'evt_1', object: 'event', type: 't', livemode: false, data: { object: session } }).success).toBe(true);
    expect(checkoutSessionSchema.parse(session)).toMatchObject({ id: 'cs_1', amount_total: 1000, metadata: { orderId: 'o' } });
    for (const optional of [{ payment_intent: null }, { payment_intent: { id: 'pi_2', status: 'x' } }, { metadata: null, client_reference_id: 'o' }]) {
      expect(checkoutSessionSchema.safeParse({ ...session, ...optional }).success).toBe(true);
    }
  });

  it('refuse what a payment cannot be made of', () => {
    for (const broken of [{ amount_total: null }, { amount_total: 10.5 }, { amount_total: -1 }, { currency: 'us dollars' }, { payment_intent: 7 }, { metadata: ['o'] }, { metadata: { orderId: 7 } }]) {
      expect(checkoutSessionSchema.safeParse({ ...session, ...broken }).success).toBe(false);
    }
  });
});

describe('gatewayParams', () => {
  it('reads a form and a JSON object of text, numbers and booleans as text', () => {
    expect(gatewayParams(Buffer.from('a=1&b=x%20y'), 'application/x-www-form-urlencoded')).toEqual({ a: '1', b: 'x y' });
    expect(gatewayParams(Buffer.from('{"a":1,"b":"x","c":true}'), 'application/json')).toEqual({ a: '1', b: 'x', c: 'true' });
  });

  it('refuses what the signature scheme cannot sign, and text PostgreSQL cannot store', () => {
    for (const body of ['[]', 'null', '"x"', '{"a":{"b":1}}', '{"a":[1]}', '{"a":null}', '{"a":"\\u0000"}', '{"a"']) {
      expect(refusal(() => gatewayParams(Buffer.from(body), 'application/json'))?.code).toBe('VALIDATION_FAILED');
    }
    expect(refusal(() => gatewayParams(Buffer.from('a=%00'), 'application/x-www-form-urlencoded'))?.paths).toEqual(['body.a']);
  });
});
