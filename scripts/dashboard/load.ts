/**
 * The load behind the dashboard snapshot: the bench's own operations (deducts, reservation lifecycles, paid
 * orders end to end through stripe-mock and the signed Stripe webhook, some refunded) at a paced, modest
 * rate, with a local receiver subscribed to the deducts' and commits' webhooks, plus a trickle of calls the
 * API refuses (no credits, invalid input) so the refusal panels have something to show. Three phases of
 * different rates, so the graphs show the load change rather than a flat line.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { encryptSecret, generateSecret } from '../../modules/events/secrets';
import type { Bench } from '../bench/context';
import { runLoad, type LoadOp } from '../bench/load';
import { startReceiver, type Receiver } from '../bench/receiver';
import { log } from '../bench/report';
import { apiDeductOp } from '../bench/scenarios/deduct';
import { reservationCalls } from '../bench/scenarios/lifecycle';
import { paidOrderOp } from '../bench/scenarios/orders';
import { ACTION_KEY } from '../bench/stack';

/** Operations a second of each stream, per phase. */
interface PhaseRates {
  deducts: number;
  reservations: number;
  orders: number;
  refusals: number;
}

export interface Phase {
  name: string;
  rates: PhaseRates;
}

/** Rates a 2-core machine serves with the relay and the webhook deliveries keeping up. */
export const PHASES: Phase[] = [
  { name: 'steady', rates: { deducts: 10, reservations: 2, orders: 0.3, refusals: 0.5 } },
  { name: 'busier', rates: { deducts: 25, reservations: 5, orders: 0.6, refusals: 0.5 } },
  { name: 'refusals', rates: { deducts: 10, reservations: 2, orders: 0.3, refusals: 4 } },
];

/** Client loops per stream: enough that one slow call does not stall a stream's rate. */
const LOOPS: Record<keyof PhaseRates, number> = { deducts: 4, reservations: 2, orders: 2, refusals: 1 };

/** `op` at `perSecond` over `loops` closed loops: each loop waits out the rest of its interval after a call. */
function paced(op: LoadOp, perSecond: number, loops: number): LoadOp {
  const intervalMs = (1000 * loops) / perSecond;
  return async (loop) => {
    const started = Date.now();
    await op(loop);
    const rest = intervalMs - (Date.now() - started);
    if (rest > 0) await delay(rest);
  };
}

/** A reserve, then most often a commit; now and then a commit and a refund, a release, or a hold left open. */
function reservationOp(bench: Bench): LoadOp {
  const calls = reservationCalls(bench);
  let n = 0;
  return async () => {
    const id = await calls.reserve();
    const kind = n++ % 20;
    if (kind === 0) return; // left held: the holds gauges, and the workflow releases it at its deadline
    if (kind === 1) {
      const released = await bench.api.post(`/v1/internal/reservations/${id}/release`, {});
      if (released.status !== 200) throw new Error(`release: HTTP ${released.status} ${released.text.slice(0, 200)}`);
      return;
    }
    await calls.commit(id);
    if (kind === 2) {
      const refunded = await bench.api.post(`/v1/internal/reservations/${id}/refund`, { reason: 'dashboard snapshot' });
      if (refunded.status !== 200 && refunded.status !== 201) throw new Error(`refund: HTTP ${refunded.status} ${refunded.text.slice(0, 200)}`);
    }
  };
}

/** A paid order end to end; every fourth is then refunded in full by an admin (the refunded-orders series). */
function orderOp(bench: Bench): LoadOp {
  // One paid-order operation per client loop, so each loop knows which order it just placed.
  const loops = new Map<number, { run: LoadOp; orderId: string }>();
  let n = 0;
  return async (loop) => {
    let state = loops.get(loop);
    if (!state) {
      const fresh = { run: (async () => undefined) as LoadOp, orderId: '' };
      fresh.run = paidOrderOp(bench, (orderId) => (fresh.orderId = orderId));
      loops.set(loop, (state = fresh));
    }
    await state.run(loop);
    if (n++ % 4 !== 0) return;
    const refund = await bench.api.postRaw(`/v1/admin/orders/${state.orderId}/refund`, JSON.stringify({ reason: 'dashboard snapshot' }), {
      authorization: `Bearer ${bench.stack.adminKey}`,
      'idempotency-key': randomUUID(),
    });
    if (refund.status !== 202) throw new Error(`order refund: HTTP ${refund.status} ${refund.text.slice(0, 200)}`);
  };
}

/** Calls the API refuses by design: a deduct for a user without credits, and one with an invalid quantity. */
function refusalOp(bench: Bench): LoadOp {
  let n = 0;
  return async () => {
    const invalid = n++ % 3 === 0;
    const answer = await bench.api.post('/v1/internal/credits/deduct', {
      userId: `dashboard-no-credits-${randomUUID()}`,
      actionKey: ACTION_KEY,
      quantity: invalid ? -1 : 1,
    });
    if (answer.status < 400 || answer.status >= 500) throw new Error(`expected a refusal, got HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
  };
}

/** Subscribes a local receiver to every deduct's `credits.deducted` webhook (stored as the events scenario stores it). */
async function subscribeReceiver(bench: Bench): Promise<Receiver> {
  const receiver = await startReceiver();
  await bench.stack.admin.query(
    `INSERT INTO webhook_endpoints (id, url, description, event_types, enabled, secret_ciphertext, updated_at)
     VALUES ($1, $2, 'dashboard snapshot receiver', ARRAY['credits.deducted', 'reservation.committed'], true, $3, now())`,
    [randomUUID(), `${receiver.url}/webhooks`, encryptSecret(generateSecret(), bench.stack.webhookSecretsKey)],
  );
  return receiver;
}

export interface LoadSummary {
  /** e.g. "3 phases of 25 s: ..." for the page's banner. */
  description: string;
  webhooksReceived: number;
}

/**
 * Runs the phases, `phaseSeconds` each, every stream at once (logs each stream's count and first error),
 * then `settleSeconds` without load with the receiver still answering: the relay and the deliveries catch
 * up and Prometheus scrapes the idle end.
 */
export async function runDashboardLoad(bench: Bench, phaseSeconds: number, settleSeconds: number): Promise<LoadSummary> {
  const receiver = await subscribeReceiver(bench);
  const ops: Record<keyof PhaseRates, LoadOp> = {
    deducts: apiDeductOp(bench),
    reservations: reservationOp(bench),
    orders: orderOp(bench),
    refusals: refusalOp(bench),
  };
  try {
    await ops.orders(0); // the order path works end to end before the load starts
    for (const phase of PHASES) {
      log(`load phase "${phase.name}" for ${phaseSeconds} s: ${describeRates(phase.rates)}`);
      const streams = (Object.keys(ops) as Array<keyof PhaseRates>).map(async (stream) => {
        const result = await runLoad(LOOPS[stream], phaseSeconds * 1000, paced(ops[stream], phase.rates[stream], LOOPS[stream]), { warmupMs: 0 });
        return `${stream} ${result.count} ok${result.errors ? `, ${result.errors} failed (first: ${result.firstError})` : ''}`;
      });
      log(`  ${(await Promise.all(streams)).join('; ')}`);
    }
    log(`no load for ${settleSeconds} s (relay and webhook deliveries catch up)`);
    await delay(settleSeconds * 1000);
    return {
      description: `${PHASES.length} phases of ${phaseSeconds} s of the bench's operations through the API (${PHASES.map((p) => `${p.name}: ${describeRates(p.rates)}`).join('; ')}), a local receiver subscribed to the deducts' and commits' webhooks`,
      webhooksReceived: receiver.received.requests,
    };
  } finally {
    await receiver.close();
  }
}

function describeRates(rates: PhaseRates): string {
  return `${rates.deducts} deducts/s, ${rates.reservations} reservations/s, ${rates.orders} orders/s, ${rates.refusals} refused calls/s`;
}
