/**
 * Retention (docs/operations.md → Retention), against the real stack:
 * - an idempotency key past its window is pruned, and a retry with it is then judged afresh (runs again);
 *   keys whose answer names a reservation still held or an order still open are kept;
 * - a month of events past the retention age is dropped whole, by partition, only when nothing in it is
 *   still needed: undelivered events and open dead letters survive, delivered history goes;
 * - the retention Schedule exists once however often the worker starts, and its workflow runs;
 * - the partitioning migration moves existing rows into the monthly partitions, losing none.
 * The clock is never waited on: records and events are given their age in the database.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Client } from 'pg';
import { createDatabase, type Database } from '../platform/database';
import { sqlPool } from '../platform/database';
import { maintainEventPartitions, pruneExpiredKeys, ensureRetentionSchedule } from '../modules/retention';
import { listMigrations } from '../prisma/migrate';
import { createOwnDatabase } from './support/own-database';
import { replayAll } from './support/replay';
import { grantCredits, newUserId, startStack, type TestStack } from './support/stack';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const KEY_OPTIONS = { retentionHours: 72, batchSize: 1000, maxBatches: 1000 };

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

/** Gives a key's record the age it would have after `hours` (no waiting on the clock). */
async function ageKey(key: string, hours: number): Promise<void> {
  await stack.db.$executeRaw`UPDATE idempotency_records SET created_at = now() - make_interval(hours => ${hours}::int) WHERE key = ${key}`;
}

const keyExists = async (key: string): Promise<boolean> =>
  (await stack.db.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM idempotency_records WHERE key = ${key}`)[0]!.n === 1n;

const deduct = (userId: string, key: string) => stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' }, idempotencyKey: key });

describe('idempotency keys expire', () => {
  it('a retry within the window replays; once the key is past its window and pruned, the same retry runs afresh', async () => {
    const userId = newUserId('ret-key');
    await grantCredits(stack.db, userId, 10);
    const key = randomUUID();
    const first = await deduct(userId, key);
    expect(first.status).toBe(201);
    const replay = await deduct(userId, key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);

    // Still inside the window: the prune keeps it.
    await ageKey(key, 71);
    await pruneExpiredKeys(stack.db, KEY_OPTIONS);
    expect(await keyExists(key)).toBe(true);

    await ageKey(key, 73);
    const pruned = await pruneExpiredKeys(stack.db, KEY_OPTIONS);
    expect(pruned.pruned).toBeGreaterThanOrEqual(1);
    expect(pruned.complete).toBe(true);
    expect(await keyExists(key)).toBe(false);

    const afresh = await deduct(userId, key);
    expect(afresh.status).toBe(201);
    expect(afresh.headers.get('idempotent-replayed')).toBeNull();
    expect(afresh.body.id).not.toBe(first.body.id);
    expect(await stack.db.consumptionRecord.count({ where: { userId } })).toBe(2);
  });

  it('prunes in bounded batches: a run stops at its bound and the next goes on', async () => {
    const scope = `test:batches:${randomUUID()}`;
    await stack.db.$executeRaw`
      INSERT INTO idempotency_records (scope, key, request_hash, status_code, response_text, created_at)
      SELECT ${scope}, 'k' || i, 'h', 200, '{}', now() - interval '100 hours' FROM generate_series(1, 25) i`;
    const count = async () => (await stack.db.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM idempotency_records WHERE scope = ${scope}`)[0]!.n;
    // Other files' old keys may be pruned too; these 25 are among the oldest (100 hours), so go first.
    const bounded = await pruneExpiredKeys(stack.db, { retentionHours: 99, batchSize: 10, maxBatches: 2 });
    expect(bounded).toMatchObject({ batches: 2, complete: false });
    expect(await count()).toBe(5n);
    await pruneExpiredKeys(stack.db, { retentionHours: 99, batchSize: 10, maxBatches: 10 });
    expect(await count()).toBe(0n);
  });

  it('keeps the key of a reservation still held and of an order still open, past the window; and a claim still in progress', async () => {
    const userId = newUserId('ret-open');
    await grantCredits(stack.db, userId, 10);
    const reserveKey = randomUUID();
    const held = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 2 }, idempotencyKey: reserveKey });
    expect(held.status).toBe(201);
    const orderKey = randomUUID();
    const order = await stack.call('POST', '/v1/internal/orders', { body: { userId, packageCode: 'monthly_membership', channel: 'manual' }, idempotencyKey: orderKey });
    expect(order.status).toBe(201);
    expect(order.body.status).toBe('pending_payment');
    const inProgressKey = randomUUID();
    await stack.db.$executeRaw`INSERT INTO idempotency_records (scope, key, request_hash, status_code) VALUES ('test:in-progress', ${inProgressKey}, 'h', 0)`;

    for (const key of [reserveKey, orderKey, inProgressKey]) await ageKey(key, 500);
    await pruneExpiredKeys(stack.db, KEY_OPTIONS);
    for (const key of [reserveKey, orderKey, inProgressKey]) expect(await keyExists(key)).toBe(true);
    // A retry still gets the same reservation.
    const retried = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 2 }, idempotencyKey: reserveKey });
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body.id).toBe(held.body.id);

    // Settled: the keys expire with the next run.
    expect((await stack.call('POST', `/v1/internal/reservations/${held.body.id}/release`, { body: {}, idempotencyKey: randomUUID() })).status).toBe(200);
    expect((await stack.call('POST', `/v1/me/orders/${order.body.id}/cancel`, { as: { user: userId }, body: {}, idempotencyKey: randomUUID() })).status).toBe(200);
    await pruneExpiredKeys(stack.db, KEY_OPTIONS);
    expect(await keyExists(reserveKey)).toBe(false);
    expect(await keyExists(orderKey)).toBe(false);
    expect(await keyExists(inProgressKey)).toBe(true);

    // Judged afresh, a reserve under the expired key derives the same reservation id: it finds its own
    // (released) reservation instead of holding the credits a second time.
    const afresh = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 2 }, idempotencyKey: reserveKey });
    expect(afresh.status).toBeLessThan(500);
    expect(afresh.headers.get('idempotent-replayed')).toBeNull();
    expect(await stack.db.reservation.count({ where: { userId } })).toBe(1);
    expect(await stack.db.reservation.count({ where: { userId, status: 'held' } })).toBe(0);
  });
});

describe('event partitions', () => {
  let url: string;
  let db: Database;
  beforeAll(async () => {
    // A database of this file's own: the job drops every expired month it finds.
    url = await createOwnDatabase('retention');
    db = createDatabase(url, 4);
  });
  afterAll(async () => {
    await db?.$disconnect();
  });

  const monthsAgo = (now: Date, months: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, 10, 12));

  /** An event in the past with one delivery (and its attempt) to `endpointId`, and a notice. */
  async function oldEvent(at: Date, options: { relayed: boolean; delivery: 'delivered' | 'pending' | 'failed'; endpointId: string }) {
    const event = await db.event.create({ data: { id: randomUUID(), type: 'balance.low', userId: 'ret-user', payload: {}, occurredAt: at, relayedAt: options.relayed ? at : null } });
    const delivery = await db.webhookDelivery.create({ data: { id: randomUUID(), eventId: event.id, eventOccurredAt: at, endpointId: options.endpointId, status: options.delivery } });
    await db.webhookDeliveryAttempt.create({ data: { deliveryId: delivery.id, eventOccurredAt: at, runId: 'r', attempt: 1, scheduledAt: at, latencyMs: 1 } });
    await db.notification.create({ data: { id: randomUUID(), userId: 'ret-user', eventId: event.id, eventOccurredAt: at, type: 'balance.low', title: 't', body: 'b', emailStatus: 'sent' } });
    return event.id;
  }

  const endpoint = async (deleted: boolean) =>
    (await db.webhookEndpoint.create({ data: { id: randomUUID(), url: 'https://example.invalid/hook', secretCiphertext: 'x', enabled: false, deletedAt: deleted ? new Date() : null } })).id;

  it('drops a month whose rows are all done; holds months with an undelivered event or an open dead letter; keeps the months ahead', async () => {
    const now = new Date();
    const months = [9, 8, 7, 6].map((ago) => monthsAgo(now, ago));
    await sqlPool(db).query('SELECT ensure_event_partitions($1, $2)', [months[0], now]);
    const live = await endpoint(false);
    const gone = await endpoint(true);
    const delivered = await oldEvent(months[0]!, { relayed: true, delivery: 'delivered', endpointId: live });
    const deadLetterOfDeletedEndpoint = await oldEvent(months[1]!, { relayed: true, delivery: 'failed', endpointId: gone });
    const undelivered = await oldEvent(months[2]!, { relayed: false, delivery: 'pending', endpointId: live });
    const openDeadLetter = await oldEvent(months[3]!, { relayed: true, delivery: 'failed', endpointId: live });
    const recent = await oldEvent(now, { relayed: true, delivery: 'delivered', endpointId: live });

    const result = await maintainEventPartitions(db, { retentionDays: 90, aheadMonths: 8, lockTimeoutMs: 2000 }, now);

    const suffix = (at: Date) => `p${at.getUTCFullYear()}${String(at.getUTCMonth() + 1).padStart(2, '0')}`;
    expect(result.dropped).toEqual(expect.arrayContaining([`events_${suffix(months[0]!)}`, `webhook_deliveries_${suffix(months[0]!)}`, `events_${suffix(months[1]!)}`]));
    expect(result.held).toEqual([
      { partition: `events_${suffix(months[2]!)}`, reason: 'events not yet relayed' },
      { partition: `events_${suffix(months[3]!)}`, reason: 'dead letters of existing endpoints (replay them, or delete the endpoint)' },
    ]);
    // Eight months ahead exist now (the migration made six).
    expect(result.created).toContain(`events_${suffix(monthsAgo(now, -8))}`);

    const remaining = async (eventId: string) => ({
      events: await db.event.count({ where: { id: eventId } }),
      deliveries: await db.webhookDelivery.count({ where: { eventId } }),
      attempts: await db.webhookDeliveryAttempt.count({ where: { delivery: { eventId } } }),
      notices: await db.notification.count({ where: { eventId } }),
    });
    expect(await remaining(delivered)).toEqual({ events: 0, deliveries: 0, attempts: 0, notices: 0 });
    expect(await remaining(deadLetterOfDeletedEndpoint)).toEqual({ events: 0, deliveries: 0, attempts: 0, notices: 0 });
    for (const kept of [undelivered, openDeadLetter, recent]) expect(await remaining(kept)).toEqual({ events: 1, deliveries: 1, attempts: 1, notices: 1 });

    // Idempotent: a second run creates and drops nothing more, and holds the same months.
    const again = await maintainEventPartitions(db, { retentionDays: 90, aheadMonths: 8, lockTimeoutMs: 2000 }, now);
    expect(again).toEqual({ created: [], dropped: [], held: result.held });

    // Once the dead letter is replayed to success, its month goes on the next run.
    await db.webhookDelivery.updateMany({ where: { eventId: openDeadLetter }, data: { status: 'delivered' } });
    const third = await maintainEventPartitions(db, { retentionDays: 90, aheadMonths: 8, lockTimeoutMs: 2000 }, now);
    expect(third.dropped).toContain(`events_${suffix(months[3]!)}`);
    expect(await remaining(openDeadLetter)).toEqual({ events: 0, deliveries: 0, attempts: 0, notices: 0 });
  });

  it('an event is still append-only row by row in its partition', async () => {
    const event = await db.event.create({ data: { id: randomUUID(), type: 'balance.low', userId: 'ret-user', payload: {} } });
    await expect(sqlPool(db).query('DELETE FROM events WHERE id = $1', [event.id])).rejects.toThrow(/append-only/);
  });
});

describe('the retention Schedule', () => {
  it('is created once (a second worker start finds it), starts the retention workflow, and is listed with the other schedules', async () => {
    const prefix = stack.deps.config.SCHEDULE_ID_PREFIX;
    expect(await ensureRetentionSchedule(stack.temporal, stack.taskQueue, { everyMinutes: 60, prefix, paused: true })).toBe('created');
    expect(await ensureRetentionSchedule(stack.temporal, stack.taskQueue, { everyMinutes: 60, prefix, paused: true })).toBe('exists');
    const handle = stack.temporal.schedule.getHandle(`${prefix}retention`);
    try {
      const description = await handle.describe();
      expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'retentionWorkflow', taskQueue: stack.taskQueue });
      expect(description.spec.intervals?.[0]?.every).toBe(HOUR);
      const listed = await stack.call('GET', '/v1/admin/schedules', { as: 'admin' });
      expect(listed.body.items).toContainEqual(expect.objectContaining({ id: `${prefix}retention`, workflowType: 'retentionWorkflow', paused: true }));
    } finally {
      await handle.delete();
    }
  });

  it('its workflow runs both steps on the worker, reports what it did, and its history replays', async () => {
    const handle = await stack.temporal.workflow.start('retentionWorkflow', { taskQueue: stack.taskQueue, workflowId: `retention-${randomUUID()}`, args: [{ trigger: 'test' }] });
    expect(await handle.result()).toMatchObject({ idempotencyKeys: { complete: true }, eventPartitions: { dropped: [], held: [] } });
    const history = await handle.fetchHistory();
    expect(await replayAll([{ workflowId: handle.workflowId, history }])).toEqual([{ workflowId: handle.workflowId, error: null }]);
    // RECORD_RETENTION_HISTORY=<folder>: keep this run for tests/workflows/retention-histories.test.ts.
    const folder = process.env.RECORD_RETENTION_HISTORY;
    if (folder) {
      mkdirSync(folder, { recursive: true });
      const json = temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), { longs: String, enums: String, bytes: String });
      writeFileSync(path.join(folder, 'retention-run.json'), `${JSON.stringify(json, null, 1)}\n`);
    }
  });
});

describe('the partitioning migration', () => {
  it('moves existing events, deliveries, attempts and notices into monthly partitions, keys and order intact', async () => {
    const url = await createOwnDatabase('retmig', { empty: true });
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const migrations = listMigrations();
      const mine = migrations.findIndex((m) => m.name.endsWith('_retention'));
      for (const migration of migrations.slice(0, mine)) await client.query(migration.sql);
      const old = new Date(Date.now() - 200 * DAY);
      await client.query(`INSERT INTO webhook_endpoints (id, url, secret_ciphertext, updated_at) VALUES ('00000000-0000-4000-8000-0000000000e1', 'https://example.invalid', 'x', now())`);
      await client.query(
        `INSERT INTO events (id, type, user_id, payload, occurred_at, relayed_at)
         SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'balance.low', 'u', jsonb_build_object('i', i),
                $1::timestamptz + i * interval '1 day', CASE WHEN i % 2 = 0 THEN now() END
         FROM generate_series(1, 150) i`,
        [old],
      );
      await client.query(
        `INSERT INTO webhook_deliveries (id, event_id, endpoint_id, status, updated_at)
         SELECT gen_random_uuid(), id, '00000000-0000-4000-8000-0000000000e1', 'delivered', now() FROM events`,
      );
      await client.query(`INSERT INTO webhook_delivery_attempts (delivery_id, run_id, attempt, scheduled_at, latency_ms) SELECT id, 'r', 1, now(), 3 FROM webhook_deliveries`);
      await client.query(`INSERT INTO notifications (id, user_id, event_id, type, title, body) SELECT gen_random_uuid(), 'u', id, 'balance.low', 't', 'b' FROM events`);
      const before = (await client.query(`SELECT id, seq, occurred_at, relayed_at, payload FROM events ORDER BY seq`)).rows;

      await client.query(migrations[mine]!.sql);

      expect((await client.query(`SELECT id, seq, occurred_at, relayed_at, payload FROM events ORDER BY seq`)).rows).toEqual(before);
      const counts = await client.query<{ deliveries: string; attempts: string; notices: string; mismatched: string; months: string }>(`
        SELECT (SELECT count(*) FROM webhook_deliveries) AS deliveries,
               (SELECT count(*) FROM webhook_delivery_attempts) AS attempts,
               (SELECT count(*) FROM notifications) AS notices,
               (SELECT count(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.event_occurred_at <> e.occurred_at) AS mismatched,
               (SELECT count(DISTINCT tableoid) FROM events) AS months`);
      expect(counts.rows[0]).toEqual({ deliveries: '150', attempts: '150', notices: '150', mismatched: '0', months: expect.any(String) });
      expect(Number(counts.rows[0]!.months)).toBeGreaterThanOrEqual(5);
      // The sequence goes on after the copied rows, and the unique keys hold across the partitions.
      const next = await client.query<{ seq: string }>(`INSERT INTO events (id, type, payload) VALUES (gen_random_uuid(), 'balance.low', '{}') RETURNING seq`);
      expect(Number(next.rows[0]!.seq)).toBeGreaterThan(150);
      await expect(
        client.query(`INSERT INTO webhook_deliveries (id, event_id, event_occurred_at, endpoint_id, updated_at)
                      SELECT gen_random_uuid(), event_id, event_occurred_at, endpoint_id, now() FROM webhook_deliveries LIMIT 1`),
      ).rejects.toThrow(/duplicate key/);
    } finally {
      await client.end();
    }
  });
});
