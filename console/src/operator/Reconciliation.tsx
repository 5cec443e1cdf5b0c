import { useState } from 'preact/hooks';
import { ok, type Schemas } from '../api/client';
import { adminApi } from '../api/instances';
import { Field, Form, Loading, Notice, Refusal, Section, StatusBadge, Table, valueOf } from '../ui/components';
import { dayAfter, dayStart, daysAgo, formatInstant, utcDay } from '../ui/format';
import { useAction, useLoad } from '../ui/hooks';
import { OperatorShell } from './Shell';

type Mismatch = Schemas['ReconciliationMismatch'];
type LifecycleReport = Schemas['LifecycleReport'];

export default function ReconciliationPage() {
  const [notice, setNotice] = useState<string>();
  return (
    <OperatorShell title="Reconciliation">
      {notice ? <Notice>{notice}</Notice> : null}
      <PaymentReconciliations onNotice={setNotice} />
      <LedgerReconciliations onNotice={setNotice} />
    </OperatorShell>
  );
}

/** Our payments against the gateway's records, per channel; a paid order that was never provisioned can be re-driven. */
function PaymentReconciliations({ onNotice }: { onNotice(message: string): void }) {
  const reports = useLoad(() => ok(adminApi.GET('/v1/admin/reconciliations', { params: { query: { limit: 20 } } })), []);
  const channels = useLoad(() => ok(adminApi.GET('/v1/admin/payment-channels')), []);
  const [selected, setSelected] = useState<string>();
  const [form, setForm] = useState({ channel: '', from: daysAgo(1), to: utcDay(new Date()) });
  const channel = form.channel || channels.data?.items[0]?.code || '';
  const run = useAction(
    (key: string) =>
      ok(
        adminApi.POST('/v1/admin/reconciliations', {
          params: { header: { 'Idempotency-Key': key } },
          body: { channel, from: dayStart(form.from), to: dayAfter(form.to) },
        }),
      ),
    (report) => {
      onNotice(`Reconciled ${report.channel}: ${report.mismatchCount} mismatch${report.mismatchCount === 1 ? '' : 'es'}.`);
      setSelected(report.id);
      reports.reload();
    },
  );
  return (
    <>
      <Section title="Payment reconciliation">
        <p class="muted">A channel's payments compared with the gateway's records (at most 31 days at once). The daily schedule does the same for every channel.</p>
        <Form label="Reconcile a channel" onSubmit={() => void run.run()}>
          <div class="grid">
            <Field label="Channel">
              <select value={channel} onChange={(event) => setForm({ ...form, channel: valueOf(event) })}>
                {channels.data?.items.map((one) => (
                  <option key={one.code} value={one.code}>
                    {one.name} ({one.code})
                  </option>
                ))}
              </select>
            </Field>
            <Field label="From" hint="UTC day, inclusive.">
              <input type="date" required value={form.from} onInput={(event) => setForm({ ...form, from: valueOf(event) })} />
            </Field>
            <Field label="To" hint="UTC day, inclusive.">
              <input type="date" required value={form.to} onInput={(event) => setForm({ ...form, to: valueOf(event) })} />
            </Field>
          </div>
          <div class="actions">
            <button type="submit" class="primary" disabled={run.pending || !channel}>
              {run.pending ? 'Reconciling…' : 'Reconcile now'}
            </button>
          </div>
        </Form>
        <Refusal error={run.error} />
        <Refusal error={reports.error} />
        {reports.data ? (
          reports.data.items.length === 0 ? (
            <p>No reports yet.</p>
          ) : (
            <Table caption="Payment reconciliation reports">
              <thead>
                <tr>
                  <th scope="col">Made</th>
                  <th scope="col">Channel</th>
                  <th scope="col">Period</th>
                  <th scope="col">Trigger</th>
                  <th scope="col" class="num">Ours</th>
                  <th scope="col" class="num">Theirs</th>
                  <th scope="col" class="num">Mismatches</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {reports.data.items.map((report) => (
                  <tr key={report.id}>
                    <td>{formatInstant(report.createdAt)}</td>
                    <td>{report.channel}</td>
                    <td>
                      {formatInstant(report.from)} – {formatInstant(report.to)}
                    </td>
                    <td>{report.trigger}</td>
                    <td class="num">{report.localCount}</td>
                    <td class="num">{report.remoteCount}</td>
                    <td class="num">{report.mismatchCount}</td>
                    <td class="row-actions">
                      <button type="button" aria-pressed={selected === report.id} onClick={() => setSelected(report.id)}>
                        Open
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )
        ) : (
          !reports.error && <Loading what="reports" />
        )}
      </Section>
      {selected ? <PaymentReport key={selected} reportId={selected} onNotice={onNotice} /> : null}
    </>
  );
}

function PaymentReport({ reportId, onNotice }: { reportId: string; onNotice(message: string): void }) {
  const report = useLoad(() => ok(adminApi.GET('/v1/admin/reconciliations/{reportId}', { params: { path: { reportId } } })), [reportId]);
  return (
    <Section title={`Report ${reportId.slice(0, 8)}`}>
      <Refusal error={report.error} />
      {report.data ? (
        report.data.mismatches.length === 0 ? (
          <p>Everything matched.</p>
        ) : (
          <Table caption="Mismatches">
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Order</th>
                <th scope="col">Gateway id</th>
                <th scope="col">Ours / theirs</th>
                <th scope="col">Re-driven</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {report.data.mismatches.map((mismatch) => (
                <MismatchRow key={mismatch.id} reportId={reportId} mismatch={mismatch} onDone={(message) => (onNotice(message), report.reload())} />
              ))}
            </tbody>
          </Table>
        )
      ) : null}
    </Section>
  );
}

function MismatchRow({ reportId, mismatch, onDone }: { reportId: string; mismatch: Mismatch; onDone(message: string): void }) {
  const redrive = useAction(
    (key: string) =>
      ok(
        adminApi.POST('/v1/admin/reconciliations/{reportId}/mismatches/{mismatchId}/redrive', {
          params: { path: { reportId, mismatchId: mismatch.id }, header: { 'Idempotency-Key': key } },
          body: {},
        }),
      ),
    () => onDone(`Order ${mismatch.orderId?.slice(0, 8)} re-driven: its workflow resumes where it stopped.`),
  );
  return (
    <tr>
      <td>{mismatch.kind.replace(/_/g, ' ')}</td>
      <td>{mismatch.orderId ? <a href={`/console/orders/${mismatch.orderId}`}>{mismatch.orderId.slice(0, 8)}</a> : '—'}</td>
      <td>{mismatch.externalId ? <code>{mismatch.externalId}</code> : '—'}</td>
      <td>
        <code class="json">{JSON.stringify(mismatch.ours)}</code> / <code class="json">{JSON.stringify(mismatch.theirs)}</code>
      </td>
      <td>{mismatch.redrivenAt ? `${formatInstant(mismatch.redrivenAt)} by ${mismatch.redrivenBy}` : '—'}</td>
      <td class="row-actions">
        {mismatch.redrivable ? (
          <button type="button" disabled={redrive.pending} onClick={() => void redrive.run()}>
            Re-drive
          </button>
        ) : null}
        <Refusal error={redrive.error} />
      </td>
    </tr>
  );
}

/** Grants whose balances and ledger disagree; each listed item has a repair. */
function LedgerReconciliations({ onNotice }: { onNotice(message: string): void }) {
  const reports = useLoad(() => ok(adminApi.GET('/v1/admin/lifecycle/reports', { params: { query: { kind: 'reconciliation', limit: 10 } } })), []);
  const run = useAction(
    (key: string) => ok(adminApi.POST('/v1/admin/lifecycle/reconciliations', { params: { header: { 'Idempotency-Key': key } }, body: {} })),
    (report) => {
      onNotice(`Ledger reconciliation done: ${report.items.length} item${report.items.length === 1 ? '' : 's'} to look at.`);
      reports.reload();
    },
  );
  return (
    <Section
      title="Ledger reconciliation"
      actions={
        <button type="button" disabled={run.pending} onClick={() => void run.run()}>
          {run.pending ? 'Checking…' : 'Check now'}
        </button>
      }
    >
      <p class="muted">Grants checked against their ledger entries, and paid orders against what they provisioned. It changes nothing; repair listed items one by one.</p>
      <Refusal error={run.error} />
      <Refusal error={reports.error} />
      {reports.data ? (
        reports.data.items.length === 0 ? (
          <p>No reports yet.</p>
        ) : (
          reports.data.items.map((report) => <LedgerReport key={report.id} report={report} onDone={(message) => (onNotice(message), reports.reload())} />)
        )
      ) : null}
    </Section>
  );
}

function LedgerReport({ report, onDone }: { report: LifecycleReport; onDone(message: string): void }) {
  return (
    <details class="report">
      <summary>
        {formatInstant(report.finishedAt)} · {report.trigger} · {report.items.length} item{report.items.length === 1 ? '' : 's'}
      </summary>
      {report.items.length === 0 ? (
        <p>Nothing out of line.</p>
      ) : (
        <ul>
          {report.items.map((item) => (
            <LedgerItem key={item.id} reportId={report.id} item={item} onDone={onDone} />
          ))}
        </ul>
      )}
    </details>
  );
}

function LedgerItem({ reportId, item, onDone }: { reportId: string; item: LifecycleReport['items'][number]; onDone(message: string): void }) {
  const repair = useAction(
    (key: string) =>
      ok(adminApi.POST('/v1/admin/lifecycle/reports/{reportId}/items/{itemId}/repair', { params: { path: { reportId, itemId: item.id }, header: { 'Idempotency-Key': key } }, body: {} })),
    (result) => onDone(`Repaired: ${result.action}.`),
  );
  return (
    <li>
      <StatusBadge status={item.kind} /> <code>{item.subjectId}</code>
      {item.userId ? (
        <>
          {' '}
          of <a href={`/console/users/${encodeURIComponent(item.userId)}`}>{item.userId}</a>
        </>
      ) : null}{' '}
      <button type="button" disabled={repair.pending} onClick={() => void repair.run()}>
        Repair
      </button>
      <Refusal error={repair.error} />
    </li>
  );
}
