/**
 * Notifications end to end: events become in-app notices and emails (nodemailer -> an in-process SMTP
 * sink), honouring per-type email opt-out. Real PostgreSQL, Temporal dev server and worker.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Connection } from '@temporalio/client';
import { ensureSearchAttributes } from '../worker/search-attributes';
import { relayOnce, type RelayDeps } from '../modules/events/relay';
import { storeNoticeWithoutEmail } from '../modules/events/notifications';
import { recordEvent } from '../platform/outbox/record';
import type { EventPayload, EventType } from '../platform/outbox/event-types';
import { startSmtpSink, type SmtpSink } from '../scripts/services/smtp-sink';
import { notificationWorkflowId } from '../workflows/notification-contract';
import { newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';

let stack: TestStack;
let sink: SmtpSink;
let relay: RelayDeps;

beforeAll(async () => {
  sink = await startSmtpSink();
  process.env.SMTP_URL = `smtp://127.0.0.1:${sink.port}`; // read by the worker's activities at start
  stack = await startStack({ withWorker: false });
  await ensureSearchAttributes(stack.temporal.connection as Connection, 'default');
  await stack.startWorker();
  relay = {
    db: stack.db,
    temporal: stack.temporal,
    taskQueue: stack.taskQueue,
    config: { EVENTS_RELAY_BATCH_SIZE: 1000, EVENTS_RELAY_INTERVAL_MS: 100, WEBHOOK_RETRY_SCHEDULE_MS: [0] },
    // Other test files share the database: this relay hands over only this file's events.
    only: { userId: { startsWith: 'nt-' } },
  };
});
afterAll(async () => {
  await stack?.close();
  await sink?.stop();
});

async function emit<T extends EventType>(type: T, userId: string, payload: EventPayload<T>) {
  await stack.db.$transaction((tx) => recordEvent(tx, { type, userId, payload }));
}

const orderId = randomUUID();
const grantId = randomUUID();
const SAMPLES = {
  'order.paid': {
    payload: { orderId, packageCode: 'pro_monthly', amountMinor: 1999, currency: 'USD', paidAt: '2026-11-20T10:00:00.000Z' },
    subject: 'Payment received',
    text: /\$19\.99 for pro_monthly/,
  },
  'order.refunded': {
    payload: { orderId, amountMinor: 2533, currency: 'JPY', reason: 'duplicate', revokedGrantIds: [] },
    subject: 'Your order was refunded',
    text: /¥2,533 .*Reason: duplicate/, // yen have no minor unit: 2533 is ¥2,533
  },
  'package.expiring_soon': {
    payload: { grantId, packageCode: 'pro_monthly', expiresAt: '2026-12-01T00:00:00.000Z', remainingCredits: 42 },
    subject: 'Your credits expire soon',
    text: /42 credits of pro_monthly expire on 2026-12-01/,
  },
  'package.expired': {
    payload: { grantId, packageCode: 'pro_monthly', expiredAt: '2026-12-01T00:00:00.000Z', lapsedCredits: 7 },
    subject: 'Your package expired',
    text: /7 unused credits lapsed/,
  },
  'balance.low': {
    payload: { availableCredits: 3, threshold: 10 },
    subject: 'Your credits are running low',
    text: /3 credits left/,
  },
} as const;

it('emails each template to the user and stores each in-app notice', async () => {
  const userId = newUserId('nt-mail');
  const email = `${userId}@example.test`;
  const settings = await stack.call('PUT', '/v1/me/notification-settings', { as: { user: userId }, body: { email, emailOptOut: [] } });
  expect(settings.status).toBe(200);
  for (const [type, sample] of Object.entries(SAMPLES)) await emit(type as EventType, userId, sample.payload as never);
  await relayOnce(relay);

  const mails = await waitFor(() => sink.mails.filter((m) => m.to === email).length === 5 && sink.mails.filter((m) => m.to === email), 60_000, 'five mails');
  for (const sample of Object.values(SAMPLES)) {
    const mail = mails.find((m) => m.subject === sample.subject);
    expect(mail).toBeDefined();
    expect(mail!.text).toMatch(sample.text);
  }
  const notices = await stack.call('GET', '/v1/me/notifications', { as: { user: userId } });
  expect(notices.body.items).toHaveLength(5);
  expect(notices.body.unread).toBe(5);

  const read = await stack.call('POST', `/v1/me/notifications/${notices.body.items[0].id}/read`, { as: { user: userId } });
  expect(read.body.read).toBe(true);
  const other = await stack.call('POST', `/v1/me/notifications/${notices.body.items[0].id}/read`, { as: { user: newUserId('nt-other') } });
  expect(other.status).toBe(404); // another user's notice is not theirs to see
  expect((await stack.call('GET', '/v1/me/notifications?unread=true', { as: { user: userId } })).body.items).toHaveLength(4);
});

it('honours an email opt-out per event type (the in-app notice still appears)', async () => {
  const userId = newUserId('nt-optout');
  const email = `${userId}@example.test`;
  await stack.call('PUT', '/v1/me/notification-settings', { as: { user: userId }, body: { email, emailOptOut: ['balance.low'] } });
  expect((await stack.call('GET', '/v1/me/notification-settings', { as: { user: userId } })).body).toEqual({ email, emailOptOut: ['balance.low'] });
  await emit('balance.low', userId, SAMPLES['balance.low'].payload);
  await emit('order.paid', userId, SAMPLES['order.paid'].payload);
  await relayOnce(relay);

  await waitFor(() => sink.mails.some((m) => m.to === email), 60_000, 'the order.paid mail');
  await waitFor(async () => (await stack.db.notification.findFirst({ where: { userId, type: 'balance.low', emailStatus: 'skipped' } })) ?? false, 60_000, 'the skipped mail');
  expect(sink.mails.filter((m) => m.to === email).map((m) => m.subject)).toEqual(['Payment received']);
  const notices = await stack.call('GET', '/v1/me/notifications', { as: { user: userId } });
  expect(notices.body.items.map((n: { type: string }) => n.type).sort()).toEqual(['balance.low', 'order.paid']);
});

it('a notice that will not be emailed (no address, or the type opted out) is stored by the relay without a notification run', async () => {
  const noAddress = newUserId('nt-noaddress');
  const optedOut = newUserId('nt-optedout');
  await stack.call('PUT', '/v1/me/notification-settings', { as: { user: optedOut }, body: { email: `${optedOut}@example.test`, emailOptOut: ['balance.low'] } });
  const eventIds = [
    await stack.db.$transaction((tx) => recordEvent(tx, { type: 'balance.low', userId: noAddress, payload: SAMPLES['balance.low'].payload })),
    await stack.db.$transaction((tx) => recordEvent(tx, { type: 'balance.low', userId: optedOut, payload: SAMPLES['balance.low'].payload })),
  ];
  await relayOnce(relay);
  // Stored by the time the pass returns, its email skipped, and no run was started for it.
  for (const [eventId, userId] of [[eventIds[0]!, noAddress], [eventIds[1]!, optedOut]] as const) {
    expect(await stack.db.notification.findFirstOrThrow({ where: { eventId } })).toMatchObject({ userId, type: 'balance.low', emailStatus: 'skipped', readAt: null });
    await expect(stack.temporal.workflow.getHandle(notificationWorkflowId(eventId)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  }
  const notices = await stack.call('GET', '/v1/me/notifications', { as: { user: noAddress } });
  expect(notices.body.items.map((n: { type: string; title: string }) => n.type)).toEqual(['balance.low']);
  // A second hand-over of the same events (a relay that died before marking them) stores nothing twice.
  await stack.db.event.updateMany({ where: { id: { in: eventIds } }, data: { relayedAt: null } });
  await relayOnce(relay);
  expect(await stack.db.notification.count({ where: { eventId: { in: eventIds } } })).toBe(2);
  expect(sink.mails.filter((m) => m.to === `${optedOut}@example.test`)).toEqual([]);
});

it('a notice to be emailed still gets its own notification run (mail retried for days)', async () => {
  const userId = newUserId('nt-run');
  const email = `${userId}@example.test`;
  await stack.call('PUT', '/v1/me/notification-settings', { as: { user: userId }, body: { email, emailOptOut: [] } });
  const eventId = await stack.db.$transaction((tx) => recordEvent(tx, { type: 'balance.low', userId, payload: SAMPLES['balance.low'].payload }));
  await relayOnce(relay);
  expect(await stack.temporal.workflow.getHandle(notificationWorkflowId(eventId)).result()).toEqual({ emailed: true });
  expect(await stack.db.notification.findFirstOrThrow({ where: { eventId } })).toMatchObject({ emailStatus: 'sent' });
});

it('two relays storing the notice of one event at once store one notice, and both get its id', async () => {
  const userId = newUserId('nt-race');
  await emit('balance.low', userId, SAMPLES['balance.low'].payload);
  const event = await stack.db.event.findFirstOrThrow({ where: { userId, type: 'balance.low' } });
  const stored = await Promise.all(Array.from({ length: 8 }, () => storeNoticeWithoutEmail(stack.db, event)));
  const ids = new Set(stored.map((notice) => notice?.notificationId));
  expect(ids.size).toBe(1);
  expect(await stack.db.notification.count({ where: { eventId: event.id } })).toBe(1);
});
