/**
 * Long-lived reservations keep their history bounded: when Temporal suggests continue-as-new, the run
 * hands its state to a new run and carries on. This file runs its own Temporal dev server that
 * suggests it after a few dozen events, so the path is exercised in seconds.
 */
import { startTemporalDevServer, type TemporalDevServer } from '../scripts/services';
import { ReservationStatusKey, UserIdKey } from '../workflows/search-attributes';
import { balances, expectLedgerInvariant, grantCredits, newUserId, startStack, type TestStack } from './support/stack';

let temporal: TemporalDevServer;
let stack: TestStack;
beforeAll(async () => {
  temporal = await startTemporalDevServer({ uiPort: false, dynamicConfig: ['limit.historyCount.suggestContinueAsNew=40'] });
  stack = await startStack({ temporalAddress: temporal.address });
});
afterAll(async () => {
  await stack?.close();
  await temporal?.stop();
});

it('continues as new while held and after commit, keeping its state, keys and search attributes', async () => {
  const userId = newUserId();
  await grantCredits(stack.db, userId, 20);
  const held = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 6, holdSeconds: 600 } });
  expect(held.status).toBe(201);
  const handle = stack.temporal.workflow.getHandle(`reservation-${held.body.id}`);
  const firstRunId = (await handle.describe()).runId;

  const extendKey = 'extend-once';
  for (let i = 0; i < 12; i++) {
    const extended = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/extend`, { body: { holdSeconds: 600 + i } });
    expect(extended.status).toBe(200);
  }
  const first = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/extend`, { body: { holdSeconds: 900 }, idempotencyKey: extendKey });
  expect(first.status).toBe(200);

  const afterExtends = await handle.describe();
  expect(afterExtends.runId).not.toBe(firstRunId);
  expect(afterExtends.status.name).toBe('RUNNING');
  expect(afterExtends.typedSearchAttributes.get(UserIdKey)).toBe(userId);
  expect(afterExtends.typedSearchAttributes.get(ReservationStatusKey)).toBe('held');

  // Keys seen by an earlier run are still known: the same key with other parameters is refused.
  const reused = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/extend`, { body: { holdSeconds: 901 }, idempotencyKey: extendKey });
  expect(reused.status).toBe(409);
  expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');

  const committed = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/commit`, { body: { quantity: 5 } });
  expect(committed.status).toBe(200);
  for (let i = 0; i < 4; i++) {
    const refund = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/refund`, { body: { credits: 1, reason: `retry ${i} failed` } });
    expect(refund.status).toBe(201);
  }
  const state = await stack.call('GET', `/v1/internal/reservations/${held.body.id}`);
  expect(state.body.phase).toBe('committed');
  expect(state.body.refunds).toHaveLength(4);
  expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 1, reserved: 0, available: 19 });
  await expectLedgerInvariant(stack.db, userId);
});
