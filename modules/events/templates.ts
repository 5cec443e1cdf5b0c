/**
 * Notice templates per event type and channel (in-app, email). An event type without an entry here
 * notifies nobody. Plain text: no HTML to escape, and every mail client shows it.
 */
import { formatMinor } from '../../platform/currencies';
import type { EventPayload, EventType } from '../../platform/outbox/event-types';

export interface Rendered {
  title: string;
  body: string;
}

type Templates = { [T in EventType]?: { inApp: (p: EventPayload<T>) => Rendered; email: (p: EventPayload<T>) => { subject: string; text: string } } };

const day = (iso: string) => iso.slice(0, 10);

/** Why a refill gave up, in the user's words. */
function failureText(reason: string | undefined): string {
  switch (reason) {
    case 'action_abandoned':
      return 'the payment needed your confirmation and was not completed in time';
    case 'no_payment_method':
      return 'you have no saved payment method we can charge';
    case 'payment_declined':
    case undefined:
      return 'your payment method was declined';
    default:
      return `the purchase was refused (${reason})`;
  }
}

const TEMPLATES: Templates = {
  'top_up.failed': {
    inApp: (p) => ({
      title: 'Top-up failed',
      body: `Your credits were not topped up: ${failureText(p.reason)}.${p.rulePaused ? ' Automatic top-ups are paused until you resume them.' : ''}`,
    }),
    email: (p) => ({
      subject: p.rulePaused ? 'Automatic top-up paused' : 'Your top-up failed',
      text: `We could not top up your credits: ${failureText(p.reason)}.${p.rulePaused ? ' Automatic top-ups are paused: update your payment method, then resume your top-up rule.' : ''} (refill ${p.refillId})`,
    }),
  },
  'top_up.requires_action': {
    inApp: (p) => ({ title: 'Confirm your top-up', body: `Your bank wants you to confirm the payment for your top-up: ${p.actionUrl}` }),
    email: (p) => ({
      subject: 'Confirm your top-up payment',
      text: `Your bank wants you to confirm the payment for your top-up. Open ${p.actionUrl} within 24 hours to complete it; otherwise the top-up is cancelled. (refill ${p.refillId})`,
    }),
  },
  'top_up.succeeded': {
    inApp: (p) => ({ title: 'Credits topped up', body: `Your top-up of ${formatMinor(p.amountMinor, p.currency)} was paid; the credits are on their way.` }),
    email: (p) => ({
      subject: 'Your credits were topped up',
      text: `Your top-up of ${formatMinor(p.amountMinor, p.currency)} was paid and its credits granted (refill ${p.refillId}).`,
    }),
  },
  'order.paid': {
    inApp: (p) => ({ title: 'Payment received', body: `We received your payment of ${formatMinor(p.amountMinor, p.currency)} for ${p.packageCode}.` }),
    email: (p) => ({
      subject: 'Payment received',
      text: `Thank you: your payment of ${formatMinor(p.amountMinor, p.currency)} for ${p.packageCode} succeeded (order ${p.orderId}).`,
    }),
  },
  'order.refunded': {
    inApp: (p) => ({ title: 'Order refunded', body: `Your order was refunded: ${formatMinor(p.amountMinor, p.currency)}.` }),
    email: (p) => ({
      subject: 'Your order was refunded',
      text: `We refunded ${formatMinor(p.amountMinor, p.currency)} for order ${p.orderId}.${p.reason ? ` Reason: ${p.reason}.` : ''}`,
    }),
  },
  'package.expiring_soon': {
    inApp: (p) => ({ title: 'Credits expiring soon', body: `${p.remainingCredits} credits expire on ${day(p.expiresAt)}.` }),
    email: (p) => ({
      subject: 'Your credits expire soon',
      text: `${p.remainingCredits} credits of ${p.packageCode ?? 'your package'} expire on ${day(p.expiresAt)}. Use them before then.`,
    }),
  },
  'package.expired': {
    inApp: (p) => ({ title: 'Package expired', body: `${p.packageCode ?? 'A package'} expired; ${p.lapsedCredits} unused credits lapsed.` }),
    email: (p) => ({
      subject: 'Your package expired',
      text: `${p.packageCode ?? 'Your package'} expired on ${day(p.expiredAt)}; ${p.lapsedCredits} unused credits lapsed.`,
    }),
  },
  'balance.low': {
    inApp: (p) => ({ title: 'Credits running low', body: `You have ${p.availableCredits} credits left.` }),
    email: (p) => ({
      subject: 'Your credits are running low',
      text: `You have ${p.availableCredits} credits left (below ${p.threshold}). Top up to keep going.`,
    }),
  },
};

export function hasTemplate(type: string): boolean {
  return type in TEMPLATES;
}

export function render(type: string, payload: unknown, channel: 'inApp'): Rendered | null;
export function render(type: string, payload: unknown, channel: 'email'): { subject: string; text: string } | null;
export function render(type: string, payload: unknown, channel: 'inApp' | 'email') {
  const template = TEMPLATES[type as EventType] as { inApp: (p: unknown) => Rendered; email: (p: unknown) => { subject: string; text: string } } | undefined;
  return template ? template[channel](payload) : null;
}
