import { useState } from 'preact/hooks';
import { ok, type Schemas } from '../api/client';
import { adminApi } from '../api/instances';
import type { paths } from '../api/schema';
import { checkedOf, Field, Form, Loading, Notice, Pager, Refusal, Section, StatusBadge, Table, valueOf } from '../ui/components';
import { formatInstant } from '../ui/format';
import { useAction, useLoad } from '../ui/hooks';
import { OperatorShell } from './Shell';

type Endpoint = Schemas['WebhookEndpoint'];
type Delivery = Schemas['WebhookDelivery'];
type EventType = NonNullable<NonNullable<paths['/v1/admin/webhook-endpoints']['post']['requestBody']>['content']['application/json']['eventTypes']>[number];

/** Every event type an endpoint can subscribe to; `satisfies` makes a type the API adds a compile error here until it is listed. */
const EVENT_TYPES = Object.keys({
  'credits.granted': true,
  'credits.deducted': true,
  'reservation.committed': true,
  'reservation.released': true,
  'reservation.refunded': true,
  'balance.low': true,
  'top_up.failed': true,
  'top_up.requires_action': true,
  'top_up.succeeded': true,
  'action_price.changed': true,
  'order.paid': true,
  'subscription.provisioned': true,
  'subscription.renewed': true,
  'order.refunded': true,
  'invoice.issued': true,
  'credit_note.issued': true,
  'inspection.findings': true,
  'package.expiring_soon': true,
  'package.expired': true,
  'webhook_endpoint.disabled': true,
  'webhook.test': true,
} satisfies Record<EventType, true>) as EventType[];

export default function WebhooksPage() {
  const endpoints = useLoad(() => ok(adminApi.GET('/v1/admin/webhook-endpoints')), []);
  const [notice, setNotice] = useState<string>();
  const [deliveriesRound, setDeliveriesRound] = useState(0);
  const done = (message: string) => {
    setNotice(message);
    endpoints.reload();
    setDeliveriesRound((n) => n + 1);
  };
  return (
    <OperatorShell title="Webhooks">
      {notice ? <Notice>{notice}</Notice> : null}
      <Section title="Endpoints">
        <Refusal error={endpoints.error} />
        {endpoints.data ? (
          endpoints.data.items.length === 0 ? (
            <p>No endpoints.</p>
          ) : (
            <Table caption="Webhook endpoints">
              <thead>
                <tr>
                  <th scope="col">URL</th>
                  <th scope="col">Events</th>
                  <th scope="col">State</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {endpoints.data.items.map((endpoint) => (
                  <EndpointRow key={endpoint.id} endpoint={endpoint} onDone={done} />
                ))}
              </tbody>
            </Table>
          )
        ) : (
          !endpoints.error && <Loading what="endpoints" />
        )}
      </Section>
      <CreateEndpoint onDone={() => done('Endpoint registered.')} />
      <Deliveries key={deliveriesRound} endpoints={endpoints.data?.items ?? []} onReplayed={setNotice} />
    </OperatorShell>
  );
}

function EndpointRow({ endpoint, onDone }: { endpoint: Endpoint; onDone(message: string): void }) {
  const path = { endpointId: endpoint.id };
  const toggle = useAction(
    (key: string) => ok(adminApi.PATCH('/v1/admin/webhook-endpoints/{endpointId}', { params: { path, header: { 'Idempotency-Key': key } }, body: { enabled: !endpoint.enabled } })),
    (changed) => onDone(`${changed.url} is ${changed.enabled ? 'enabled' : 'disabled'}.`),
  );
  const test = useAction(
    (key: string) => ok(adminApi.POST('/v1/admin/webhook-endpoints/{endpointId}/test', { params: { path, header: { 'Idempotency-Key': key } } })),
    () => onDone(`A webhook.test event is on its way to ${endpoint.url}.`),
  );
  const replay = useAction(
    (key: string) => ok(adminApi.POST('/v1/admin/webhook-endpoints/{endpointId}/replay-failed', { params: { path, header: { 'Idempotency-Key': key } } })),
    (result) => onDone(`${result.replayed.length} failed deliver${result.replayed.length === 1 ? 'y' : 'ies'} of ${endpoint.url} sent again.`),
  );
  const error = toggle.error ?? test.error ?? replay.error;
  return (
    <tr>
      <th scope="row">
        <code>{endpoint.url}</code>
        {endpoint.description ? <div class="muted">{endpoint.description}</div> : null}
        {error ? <Refusal error={error} /> : null}
      </th>
      <td>{endpoint.eventTypes.length === 0 ? 'every type' : endpoint.eventTypes.join(', ')}</td>
      <td>
        <StatusBadge status={endpoint.enabled ? 'enabled' : 'disabled'} />
        {endpoint.disabledReason ? <div class="muted">{endpoint.disabledReason}</div> : null}
        {endpoint.failingSince ? <div class="muted">failing since {formatInstant(endpoint.failingSince)}</div> : null}
      </td>
      <td class="row-actions">
        <button type="button" disabled={test.pending} onClick={() => void test.run()} aria-label={`Send a test event to ${endpoint.url}`}>
          Send test
        </button>
        <button type="button" disabled={replay.pending} onClick={() => void replay.run()} aria-label={`Replay the failed deliveries of ${endpoint.url}`}>
          Replay failed
        </button>
        <button type="button" disabled={toggle.pending} onClick={() => void toggle.run()} aria-label={`${endpoint.enabled ? 'Disable' : 'Enable'} ${endpoint.url}`}>
          {endpoint.enabled ? 'Disable' : 'Enable'}
        </button>
      </td>
    </tr>
  );
}

function CreateEndpoint({ onDone }: { onDone(): void }) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [types, setTypes] = useState<EventType[]>([]);
  const create = useAction(
    (key: string) =>
      ok(adminApi.POST('/v1/admin/webhook-endpoints', { params: { header: { 'Idempotency-Key': key } }, body: { url: url.trim(), description: description.trim(), eventTypes: types } })),
    () => {
      setUrl('');
      setDescription('');
      setTypes([]);
      onDone();
    },
  );
  return (
    <Section title="New endpoint">
      <Form label="New webhook endpoint" onSubmit={() => void create.run()}>
        <div class="grid">
          <Field label="URL">
            <input type="url" required value={url} onInput={(event) => setUrl(valueOf(event))} />
          </Field>
          <Field label="Description">
            <input maxLength={500} value={description} onInput={(event) => setDescription(valueOf(event))} />
          </Field>
        </div>
        <fieldset>
          <legend>Event types (none ticked: every type)</legend>
          <div class="checks">
            {EVENT_TYPES.map((type) => (
              <label class="inline" key={type}>
                <input
                  type="checkbox"
                  checked={types.includes(type)}
                  onChange={(event) => setTypes(checkedOf(event) ? [...types, type] : types.filter((one) => one !== type))}
                />{' '}
                {type}
              </label>
            ))}
          </div>
        </fieldset>
        <div class="actions">
          <button type="submit" class="primary" disabled={create.pending}>
            Register endpoint
          </button>
        </div>
      </Form>
      <Refusal error={create.error} />
      {create.result ? (
        <div class="notice" role="status">
          <p>
            Signing secret of {create.result.url}, shown this once: <code class="secret">{create.result.secret}</code>
          </p>
        </div>
      ) : null}
    </Section>
  );
}

function Deliveries({ endpoints, onReplayed }: { endpoints: Endpoint[]; onReplayed(message: string): void }) {
  const [endpointId, setEndpointId] = useState('');
  const [status, setStatus] = useState<'' | Delivery['status']>('');
  const [pages, setPages] = useState<string[]>(['']);
  const cursor = pages[pages.length - 1]!;
  const deliveries = useLoad(
    () =>
      ok(
        adminApi.GET('/v1/admin/webhook-deliveries', {
          params: { query: { limit: 25, ...(endpointId ? { endpointId } : {}), ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) } },
        }),
      ),
    [endpointId, status, cursor],
  );
  const [open, setOpen] = useState<string>();
  const urlOf = (id: string) => endpoints.find((endpoint) => endpoint.id === id)?.url ?? id;
  return (
    <Section
      title="Deliveries"
      actions={
        <button type="button" onClick={deliveries.reload}>
          Refresh
        </button>
      }
    >
      <div class="grid">
        <Field label="Endpoint">
          <select
            value={endpointId}
            onChange={(event) => {
              setEndpointId(valueOf(event));
              setPages(['']);
            }}
          >
            <option value="">every endpoint</option>
            {endpoints.map((endpoint) => (
              <option key={endpoint.id} value={endpoint.id}>
                {endpoint.url}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Delivery status">
          <select
            value={status}
            onChange={(event) => {
              setStatus(valueOf(event) as typeof status);
              setPages(['']);
            }}
          >
            <option value="">any</option>
            <option value="pending">pending</option>
            <option value="delivered">delivered</option>
            <option value="failed">failed</option>
          </select>
        </Field>
      </div>
      <Refusal error={deliveries.error} />
      {deliveries.data ? (
        deliveries.data.items.length === 0 ? (
          <p>No deliveries.</p>
        ) : (
          <>
            <Table caption="Webhook deliveries">
              <thead>
                <tr>
                  <th scope="col">Created</th>
                  <th scope="col">Event</th>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Attempts</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {deliveries.data.items.map((delivery) => (
                  <DeliveryRow
                    key={delivery.id}
                    delivery={delivery}
                    url={urlOf(delivery.endpointId)}
                    open={open === delivery.id}
                    onToggle={() => setOpen(open === delivery.id ? undefined : delivery.id)}
                    onReplayed={() => {
                      onReplayed(`Delivery ${delivery.id.slice(0, 8)} (${delivery.eventType}) sent again from its first attempt.`);
                      deliveries.reload();
                    }}
                  />
                ))}
              </tbody>
            </Table>
            <Pager hasPrevious={pages.length > 1} next={deliveries.data.nextCursor} onPrevious={() => setPages(pages.slice(0, -1))} onNext={(next) => setPages([...pages, next])} />
          </>
        )
      ) : null}
    </Section>
  );
}

function DeliveryRow({ delivery, url, open, onToggle, onReplayed }: { delivery: Delivery; url: string; open: boolean; onToggle(): void; onReplayed(): void }) {
  const replay = useAction(
    (key: string) => ok(adminApi.POST('/v1/admin/webhook-deliveries/{deliveryId}/replay', { params: { path: { deliveryId: delivery.id }, header: { 'Idempotency-Key': key } } })),
    onReplayed,
  );
  return (
    <>
      <tr data-delivery-id={delivery.id}>
        <td>{formatInstant(delivery.createdAt)}</td>
        <td>
          <code>{delivery.eventType}</code>
        </td>
        <td>
          <code>{url}</code>
        </td>
        <td>
          <StatusBadge status={delivery.status} />
          {delivery.lastError ? <div class="muted">{delivery.lastError}</div> : null}
        </td>
        <td class="num">{delivery.attemptCount}</td>
        <td class="row-actions">
          <button type="button" aria-expanded={open} onClick={onToggle} aria-label={`Attempts of delivery ${delivery.id}`}>
            Attempts
          </button>
          <button type="button" disabled={replay.pending} onClick={() => void replay.run()} aria-label={`Replay delivery ${delivery.id}`}>
            Replay
          </button>
          {replay.error ? <Refusal error={replay.error} /> : null}
        </td>
      </tr>
      {open ? (
        <tr>
          <td colSpan={6}>
            <ol class="attempts">
              {delivery.attempts.map((attempt) => (
                <li key={`${attempt.runId}-${attempt.attempt}`}>
                  {formatInstant(attempt.createdAt)}: attempt {attempt.attempt}, {attempt.statusCode ?? 'no answer'} in {attempt.latencyMs} ms
                  {attempt.error ? ` (${attempt.error})` : ''}
                  {attempt.responseExcerpt ? <pre>{attempt.responseExcerpt}</pre> : null}
                </li>
              ))}
            </ol>
          </td>
        </tr>
      ) : null}
    </>
  );
}
