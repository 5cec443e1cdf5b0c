/**
 * Signature scheme of the generic redirect gateway (docs/payments-gateway.md): the parameters except
 * `sign` and empty values, sorted by name (byte order), joined as `k=v` pairs with `&` (values not
 * URL-encoded), signed with HMAC-SHA256 under the shared secret, hex in lower case. Pure; unit-tested.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type GatewayParams = Record<string, string>;

export function canonicalString(params: GatewayParams): string {
  return Object.keys(params)
    .filter((name) => name !== 'sign' && params[name] !== undefined && params[name] !== '')
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => `${name}=${params[name]}`)
    .join('&');
}

export function signGatewayParams(params: GatewayParams, secret: string): string {
  return createHmac('sha256', secret).update(canonicalString(params), 'utf8').digest('hex');
}

/** The parameters with their `sign` added. */
export function withSignature(params: GatewayParams, secret: string): GatewayParams {
  return { ...params, sign: signGatewayParams(params, secret) };
}

const SIGNATURE_SHAPE = /^[0-9a-f]{64}$/;

/** Whether `params.sign` has the shape of a signature at all: a request without one is refused before any secret is looked up. */
export function looksSigned(params: GatewayParams): boolean {
  return SIGNATURE_SHAPE.test(params.sign ?? '');
}

/** Constant-time check of `params.sign`. */
export function hasValidSignature(params: GatewayParams, secret: string): boolean {
  const given = params.sign ?? '';
  if (!looksSigned(params)) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(signGatewayParams(params, secret), 'hex'));
}
