/**
 * The relay: hands committed events to Temporal. For each event not yet relayed (in commit order) it
 * starts one delivery workflow per subscribed endpoint (`delivery-<eventId>-<endpointId>`) and, if the
 * type has a notice template, one notification workflow (`notify-<eventId>`) when the notice is to be
 * emailed, or stores the in-app notice itself (email `skipped`) when it is not; then marks the event
 * relayed. Workflow ids make a second hand-over a no-op (conflict policy USE_EXISTING while running,
 * reuse policy REJECT_DUPLICATE once closed), so a relay that dies after starting workflows but before
 * marking the event loses nothing and delivers nothing twice: the next pass repeats the hand-over.
 * Runs as a polling loop in the worker process; several relays may run at once.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Event, Prisma, WebhookEndpoint } from '../../generated/prisma/client';
import type { Database } from '../../platform/database';
import type { Logger } from '../../platform/logger';
import { deliveryWorkflowId, type DeliveryInput } from '../../workflows/delivery-contract';
import { notificationWorkflowId, type NotificationInput } from '../../workflows/notification-contract';
import { DeliveryStatusKey, EndpointIdKey, EventTypeKey, UserIdKey } from '../../workflows/search-attributes';
import { loadEventsConfig, type EventsConfig } from './config';
import { countRelayed } from './metrics';
import { emailWanted, storeNoticeWithoutEmail, type MailSettings } from './notifications';
import { hasTemplate } from './templates';

export interface RelayDeps {
  db: Database;
  temporal: Client;
  taskQueue: string;
  config: Pick<EventsConfig, 'EVENTS_RELAY_BATCH_SIZE' | 'EVENTS_RELAY_INTERVAL_MS' | 'WEBHOOK_RETRY_SCHEDULE_MS'>;
  /** Which events this relay hands over; all by default. Tests sharing one database scope theirs to their own users. */
  only?: Prisma.EventWhereInput;
  /**
   * Called for each event after its hand-over, before it is marked relayed (so a failure retries it
   * on the next pass). The composition root plugs other modules' reactions in here (top-up refills),
   * so this module needs not know them. Must be idempotent.
   */
  afterHandOver?: (deps: Pick<RelayDeps, 'db' | 'temporal' | 'taskQueue'>, event: Event) => Promise<void>;
}

/** Does this endpoint want this event? A test event goes only to the endpoint it names. */
function wants(endpoint: Pick<WebhookEndpoint, 'id' | 'eventTypes'>, event: Pick<Event, 'type' | 'payload'>): boolean {
  if (event.type === 'webhook.test') return (event.payload as { endpointId?: string }).endpointId === endpoint.id;
  return endpoint.eventTypes.length === 0 || endpoint.eventTypes.includes(event.type);
}

/** Starts a workflow unless one with this id runs or ran (then nothing happens). */
async function startOnce(temporal: Client, start: () => Promise<unknown>): Promise<void> {
  try {
    await start();
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}

export async function startDelivery(
  deps: Pick<RelayDeps, 'temporal' | 'taskQueue'>,
  input: DeliveryInput,
  reuse: 'never' | 'replay',
): Promise<void> {
  await startOnce(deps.temporal, () =>
    deps.temporal.workflow.start('deliveryWorkflow', {
      taskQueue: deps.taskQueue,
      workflowId: deliveryWorkflowId(input.eventId, input.endpointId),
      args: [input],
      // The relay never runs a pair twice; an admin replay deliberately starts a closed pair again. The
      // row turns delivered/failed in the last activity, a moment before that run closes: a replay in
      // that moment would attach to the closing run and deliver nothing, so a replay replaces it.
      workflowIdReusePolicy: reuse === 'never' ? WorkflowIdReusePolicy.REJECT_DUPLICATE : WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowIdConflictPolicy: reuse === 'never' ? WorkflowIdConflictPolicy.USE_EXISTING : WorkflowIdConflictPolicy.TERMINATE_EXISTING,
      typedSearchAttributes: [
        { key: EndpointIdKey, value: input.endpointId },
        { key: EventTypeKey, value: input.eventType },
        { key: DeliveryStatusKey, value: 'pending' },
      ],
    }),
  );
}

/** The mail settings of the users these events would notify (one read per relay pass). */
async function mailSettingsOf(db: Database, events: Array<Pick<Event, 'type' | 'userId'>>): Promise<Map<string, MailSettings>> {
  const userIds = [...new Set(events.filter((event) => event.userId && hasTemplate(event.type)).map((event) => event.userId!))];
  const rows = userIds.length === 0 ? [] : await db.notificationSetting.findMany({ where: { userId: { in: userIds } }, select: { userId: true, email: true, emailOptOut: true } });
  const settings = new Map<string, MailSettings>(userIds.map((userId) => [userId, null]));
  for (const row of rows) settings.set(row.userId, { email: row.email, emailOptOut: row.emailOptOut });
  return settings;
}

/**
 * Hands one event over (idempotent). Exported so a test can stage "handed over, then the relay died".
 * `mailSettings`: the pass's read of the users' mail settings (read here when not given).
 */
export async function handOver(deps: RelayDeps, event: Event, endpoints: WebhookEndpoint[], mailSettings?: Map<string, MailSettings>): Promise<void> {
  const targets = endpoints.filter((endpoint) => wants(endpoint, event));
  if (targets.length > 0) {
    await deps.db.webhookDelivery.createMany({
      data: targets.map((endpoint) => ({ id: randomUUID(), eventId: event.id, eventOccurredAt: event.occurredAt, endpointId: endpoint.id })),
      skipDuplicates: true,
    });
  }
  await Promise.all(
    targets.map((endpoint) =>
      startDelivery(deps, { eventId: event.id, endpointId: endpoint.id, eventType: event.type, retryScheduleMs: deps.config.WEBHOOK_RETRY_SCHEDULE_MS }, 'never'),
    ),
  );
  const userId = event.userId;
  if (userId && hasTemplate(event.type)) {
    const settings = (mailSettings ?? (await mailSettingsOf(deps.db, [event]))).get(userId) ?? null;
    if (!emailWanted(settings, event.type)) {
      // Nothing to email (no address, or this type opted out): the in-app notice is one idempotent
      // write, made here; a notification run is for what needs retrying over days (the mail).
      await storeNoticeWithoutEmail(deps.db, event);
      return;
    }
    const input: NotificationInput = { eventId: event.id };
    await startOnce(deps.temporal, () =>
      deps.temporal.workflow.start('notificationWorkflow', {
        taskQueue: deps.taskQueue,
        workflowId: notificationWorkflowId(event.id),
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        typedSearchAttributes: [
          { key: UserIdKey, value: userId },
          { key: EventTypeKey, value: event.type },
        ],
      }),
    );
  }
}

/** One pass: hands over up to a batch of unrelayed events; returns how many were marked relayed. */
export async function relayOnce(deps: RelayDeps): Promise<number> {
  const events = await deps.db.event.findMany({ where: { relayedAt: null, ...deps.only }, orderBy: { seq: 'asc' }, take: deps.config.EVENTS_RELAY_BATCH_SIZE });
  if (events.length === 0) return 0;
  const endpoints = await deps.db.webhookEndpoint.findMany({ where: { enabled: true, deletedAt: null } });
  const mailSettings = await mailSettingsOf(deps.db, events);
  for (const event of events) {
    await handOver(deps, event, endpoints, mailSettings);
    await deps.afterHandOver?.(deps, event);
  }
  const marked = await deps.db.event.updateManyAndReturn({
    // The batch's earliest time lets PostgreSQL look only in the months the batch is from (events are partitioned by month).
    where: { id: { in: events.map((e) => e.id) }, occurredAt: { gte: events.reduce((earliest, e) => (e.occurredAt < earliest ? e.occurredAt : earliest), events[0]!.occurredAt) }, relayedAt: null },
    data: { relayedAt: new Date() },
    select: { type: true, payload: true },
  });
  countRelayed(marked);
  return marked.length;
}

export interface RunningRelay {
  stop(): Promise<void>;
}

/** Polls until stopped; a failed pass (database or Temporal down) is logged and retried on the next tick. */
function startRelay(deps: RelayDeps, log: Pick<Logger, 'warn'>): RunningRelay {
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      let relayed = 0;
      try {
        relayed = await relayOnce(deps);
      } catch (error) {
        log.warn({ err: error }, 'event relay pass failed; retrying');
      }
      // A full batch means more are waiting: go again at once.
      if (relayed < deps.config.EVENTS_RELAY_BATCH_SIZE && !stopped) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, deps.config.EVENTS_RELAY_INTERVAL_MS);
        });
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}

/** For the worker process: connects its own Temporal client and runs the relay with the environment's config. */
export async function startEventRelayProcess(options: {
  address: string;
  namespace: string;
  taskQueue: string;
  db: Database;
  log: Pick<Logger, 'warn'>;
  afterHandOver?: RelayDeps['afterHandOver'];
}): Promise<RunningRelay> {
  const config = loadEventsConfig();
  if (!config.EVENTS_RELAY_ENABLED) return { stop: async () => {} };
  const connection = await Connection.connect({ address: options.address });
  const relay = startRelay(
    { db: options.db, temporal: new Client({ connection, namespace: options.namespace }), taskQueue: options.taskQueue, config, afterHandOver: options.afterHandOver },
    options.log,
  );
  return {
    async stop() {
      await relay.stop();
      await connection.close();
    },
  };
}
