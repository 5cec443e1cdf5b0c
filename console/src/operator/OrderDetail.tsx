import { useEffect, useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { ok, type Schemas } from '../api/client';
import { adminApi } from '../api/instances';
import { consoleConfig, temporalWorkflowUrl, type ConsoleConfig } from '../config';
import { ConfirmDialog, Field, Loading, Notice, Refusal, Section, StatusBadge, Table, valueOf } from '../ui/components';
import { formatInstant, formatMoney } from '../ui/format';
import { useAction, useLoad } from '../ui/hooks';
import { OperatorShell } from './Shell';

type Order = Schemas['OrderWithProgress'];

/** The order workflow's id (workflows/order-contract.ts, orderWorkflowId): the console test checks the link against it. */
const orderWorkflowId = (orderId: string) => `order-${orderId}`;
/** Statuses the order workflow is still working on: the page polls until it settles. */
const MOVING = new Set(['paid', 'provisioning']);
const WATCH_AFTER_ACTION_MS = 30_000;

export default function OrderDetailPage() {
  const { params } = useRoute();
  const orderId = params.orderId ?? '';
  const order = useLoad(() => ok(adminApi.GET('/v1/admin/orders/{orderId}', { params: { path: { orderId } } })), [orderId]);
  const refunds = useLoad(() => ok(adminApi.GET('/v1/admin/orders/{orderId}/refunds', { params: { path: { orderId } } })), [orderId]);
  const [config, setConfig] = useState<ConsoleConfig>();
  const [dialog, setDialog] = useState<'mark-paid' | 'refund'>();
  const [notice, setNotice] = useState<string>();
  useEffect(() => void consoleConfig().then(setConfig), []);
  const pendingRefund = refunds.data?.items.some((refund) => refund.status === 'pending') ?? false;
  // An accepted mark-paid or refund is carried out by the order's workflow after the answer: look again
  // for a while after one, and for as long as the workflow is provisioning or a refund is pending.
  const [watchUntil, setWatchUntil] = useState(0);
  useEffect(() => {
    if (!order.data) return;
    if (!MOVING.has(order.data.status) && !pendingRefund && Date.now() > watchUntil) return;
    const timer = setTimeout(() => {
      order.reload();
      refunds.reload();
    }, 1_500);
    return () => clearTimeout(timer);
  }, [order.data, refunds.data, watchUntil]);
  const done = (message: string) => {
    setWatchUntil(Date.now() + WATCH_AFTER_ACTION_MS);
    setDialog(undefined);
    setNotice(message);
    order.reload();
    refunds.reload();
  };
  const runUrl = config ? temporalWorkflowUrl(config, orderWorkflowId(orderId)) : null;
  return (
    <OperatorShell title={`Order ${orderId.slice(0, 8)}`}>
      {notice ? <Notice>{notice}</Notice> : null}
      <Refusal error={order.error} />
      {order.data ? (
        <>
          <OrderSummary order={order.data} runUrl={runUrl} />
          <Section title="Actions">
            <div class="actions">
              <button type="button" disabled={order.data.status !== 'pending_payment'} onClick={() => setDialog('mark-paid')}>
                Mark paid
              </button>
              <button type="button" class="danger" disabled={order.data.status !== 'completed' && order.data.status !== 'partially_refunded'} onClick={() => setDialog('refund')}>
                Refund
              </button>
            </div>
            <p class="muted">Mark paid: a payment received outside the system (bank transfer, cash). Refund: completed orders only.</p>
          </Section>
          <Progress order={order.data} />
          {dialog === 'mark-paid' ? <MarkPaid order={order.data} onClose={() => setDialog(undefined)} onDone={() => done('Marked paid: the order workflow provisions it now.')} /> : null}
          {dialog === 'refund' ? (
            <RefundOrder order={order.data} refunds={refunds.data?.items ?? []} onClose={() => setDialog(undefined)} onDone={(refund) => done(`Refund of ${formatMoney(refund.amountMinor, order.data!.currency)} requested (${refund.status}).`)} />
          ) : null}
        </>
      ) : (
        !order.error && <Loading what="the order" />
      )}
      <Section title="Refunds">
        <Refusal error={refunds.error} />
        {refunds.data && order.data ? (
          refunds.data.items.length === 0 ? (
            <p>No refunds.</p>
          ) : (
            <Table caption="Refunds of this order">
              <thead>
                <tr>
                  <th scope="col">Requested</th>
                  <th scope="col" class="num">Amount</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Credits revoked</th>
                  <th scope="col" class="num">Shortfall</th>
                </tr>
              </thead>
              <tbody>
                {refunds.data.items.map((refund) => (
                  <tr key={refund.id}>
                    <td>{formatInstant(refund.createdAt)}</td>
                    <td class="num">{formatMoney(refund.amountMinor, order.data!.currency)}</td>
                    <td>{refund.reason}</td>
                    <td>
                      <StatusBadge status={refund.status} />
                      {refund.failureReason ? <span class="muted"> {refund.failureReason}</span> : null}
                    </td>
                    <td class="num">{refund.creditsRevoked}</td>
                    <td class="num">{refund.creditsShortfall}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )
        ) : null}
      </Section>
    </OperatorShell>
  );
}

function OrderSummary({ order, runUrl }: { order: Order; runUrl: string | null }) {
  return (
    <Section title="Order">
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge status={order.status} />
          {order.failureReason ? <span> {order.failureReason}</span> : null}
        </dd>
        <dt>User</dt>
        <dd>
          <a href={`/console/users/${encodeURIComponent(order.userId)}`}>{order.userId}</a>
        </dd>
        <dt>Package</dt>
        <dd>
          {order.package.name} (<code>{order.package.code}</code>)
        </dd>
        <dt>Amount</dt>
        <dd>
          {formatMoney(order.amountMinor, order.currency)}
          {order.discountMinor ? ` (list ${formatMoney(order.listAmountMinor ?? order.amountMinor, order.currency)}, coupon ${order.couponCode})` : ''}
        </dd>
        <dt>Refunded</dt>
        <dd>{formatMoney(order.refundedMinor, order.currency)}</dd>
        <dt>Channel</dt>
        <dd>{order.channel}</dd>
        <dt>Created</dt>
        <dd>{formatInstant(order.createdAt)}</dd>
        <dt>Paid</dt>
        <dd>{formatInstant(order.paidAt)}</dd>
        <dt>Completed</dt>
        <dd>{formatInstant(order.completedAt)}</dd>
        <dt>Workflow</dt>
        <dd>
          {runUrl ? (
            <a href={runUrl} target="_blank" rel="noreferrer" data-testid="temporal-link">
              {orderWorkflowId(order.id)} in the Temporal UI
            </a>
          ) : (
            <code>{orderWorkflowId(order.id)}</code>
          )}
        </dd>
      </dl>
    </Section>
  );
}

function Progress({ order }: { order: Order }) {
  if (!order.progress) {
    return (
      <Section title="Progress">
        <p class="muted">The order's workflow has not reported its steps.</p>
      </Section>
    );
  }
  return (
    <Section title="Progress">
      <p>
        Current step: <strong>{order.progress.step}</strong>
        {order.progress.attempts > 1 ? ` (attempt ${order.progress.attempts})` : ''}
        {order.progress.lastError ? <span class="muted"> last error: {order.progress.lastError}</span> : null}
      </p>
      <ol class="steps">
        {order.progress.steps.map((step) => (
          <li key={step.name} class={`step step-${step.status}`}>
            <span>{step.name.replace(/_/g, ' ')}</span> <StatusBadge status={step.status} />
            {step.attempts > 1 ? <span class="muted"> {step.attempts} attempts</span> : null}
            {step.lastError ? <span class="muted"> {step.lastError}</span> : null}
          </li>
        ))}
      </ol>
    </Section>
  );
}

function MarkPaid({ order, onClose, onDone }: { order: Order; onClose(): void; onDone(): void }) {
  const [reason, setReason] = useState('');
  const markPaid = useAction(
    (key: string) =>
      ok(adminApi.POST('/v1/admin/orders/{orderId}/mark-paid', { params: { path: { orderId: order.id }, header: { 'Idempotency-Key': key } }, body: { reason: reason.trim() } })),
    onDone,
  );
  return (
    <ConfirmDialog open title="Mark this order paid?" confirmLabel="Mark paid" pending={markPaid.pending} error={markPaid.error} onCancel={onClose} onConfirm={() => void markPaid.run()}>
      <p>
        Confirms that {formatMoney(order.amountMinor, order.currency)} from {order.userId} arrived outside the system. The order workflow then
        provisions {order.package.name} once.
      </p>
      <Field label="Reason" hint="e.g. the bank transfer's reference.">
        <input required maxLength={500} value={reason} onInput={(event) => setReason(valueOf(event))} />
      </Field>
    </ConfirmDialog>
  );
}

function RefundOrder({ order, refunds, onClose, onDone }: { order: Order; refunds: Schemas['OrderRefund'][]; onClose(): void; onDone(refund: Schemas['OrderRefund']): void }) {
  const refundable = order.amountMinor - refunds.filter((refund) => refund.status !== 'failed').reduce((sum, refund) => sum + refund.amountMinor, 0);
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const refund = useAction(
    (key: string) =>
      ok(
        adminApi.POST('/v1/admin/orders/{orderId}/refund', {
          params: { path: { orderId: order.id }, header: { 'Idempotency-Key': key } },
          body: { reason: reason.trim(), ...(amount.trim() ? { amountMinor: Number(amount) } : {}) },
        }),
      ),
    onDone,
  );
  const shown = amount.trim() ? Number(amount) : refundable;
  return (
    <ConfirmDialog open danger title="Refund this order?" confirmLabel={`Refund ${formatMoney(shown, order.currency)}`} pending={refund.pending} error={refund.error} onCancel={onClose} onConfirm={() => void refund.run()}>
      <p>
        The channel ({order.channel}) gives the money back, then the refunded share of the credits and subscription time is revoked. Up to{' '}
        {formatMoney(refundable, order.currency)} is left to refund.
      </p>
      <Field label="Amount in minor units" hint="Empty: everything left.">
        <input type="number" inputMode="numeric" min={1} step={1} value={amount} onInput={(event) => setAmount(valueOf(event))} />
      </Field>
      <Field label="Reason">
        <input required maxLength={500} value={reason} onInput={(event) => setReason(valueOf(event))} />
      </Field>
    </ConfirmDialog>
  );
}
