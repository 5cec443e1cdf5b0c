import { useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { ok, type Schemas } from '../api/client';
import { adminApi } from '../api/instances';
import { ConfirmDialog, Field, Form, Loading, Notice, Pager, Refusal, Section, StatusBadge, Table, valueOf } from '../ui/components';
import { formatInstant, isoToLocalInput, localInputToIso } from '../ui/format';
import { useAction, useLoad } from '../ui/hooks';
import { OrderTable } from './OrderTable';
import { OperatorShell } from './Shell';

type Grant = Schemas['UserGrant'];

export default function UserDetailPage() {
  const { params } = useRoute();
  const userId = decodeURIComponent(params.userId ?? '');
  const grants = useLoad(() => ok(adminApi.GET('/v1/admin/users/{userId}/packages', { params: { path: { userId } } })), [userId]);
  const [notice, setNotice] = useState<string>();
  const [open, setOpen] = useState<{ grantId: string; panel: 'ledger' | 'expiry' | 'revoke' }>();
  const changed = (message: string) => {
    setOpen(undefined);
    setNotice(message);
    grants.reload();
  };
  const spendable = grants.data?.items.filter((grant) => grant.status === 'active') ?? [];
  const balance = spendable.reduce((sum, grant) => sum + grant.availableCredits, 0);
  const selected = grants.data?.items.find((grant) => grant.id === open?.grantId);
  return (
    <OperatorShell title={`User ${userId}`}>
      {notice ? <Notice>{notice}</Notice> : null}
      <Section title="Balance">
        <Refusal error={grants.error} />
        {grants.data ? (
          <p class="big-number" aria-label="Available credits">
            <strong data-testid="user-balance">{balance}</strong> credits available
            <span class="muted">
              {' '}
              in {spendable.length} active grant{spendable.length === 1 ? '' : 's'}
            </span>
          </p>
        ) : (
          !grants.error && <Loading what="balance" />
        )}
      </Section>
      <AssignPackage userId={userId} onDone={(grant) => changed(`Assigned ${grant.totalCredits} credits (grant ${grant.id}).`)} />
      <Section title="Grants">
        {grants.data ? (
          grants.data.items.length === 0 ? (
            <p>No grants.</p>
          ) : (
            <Table caption={`Grants of ${userId}`}>
              <thead>
                <tr>
                  <th scope="col">Package</th>
                  <th scope="col">Source</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Total</th>
                  <th scope="col" class="num">Used</th>
                  <th scope="col" class="num">Held</th>
                  <th scope="col" class="num">Available</th>
                  <th scope="col" class="num">Priority</th>
                  <th scope="col">Starts</th>
                  <th scope="col">Expires</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {grants.data.items.map((grant) => {
                  const live = grant.status === 'active' || grant.status === 'pending' || grant.status === 'depleted';
                  const name = grant.package?.name ?? grant.note ?? grant.source;
                  return (
                    <tr key={grant.id}>
                      <th scope="row" title={grant.id}>
                        {name}
                      </th>
                      <td>{grant.source}</td>
                      <td>
                        <StatusBadge status={grant.status} />
                      </td>
                      <td class="num">{grant.totalCredits}</td>
                      <td class="num">{grant.usedCredits}</td>
                      <td class="num">{grant.reservedCredits}</td>
                      <td class="num">{grant.availableCredits}</td>
                      <td class="num">{grant.priority}</td>
                      <td>{formatInstant(grant.startsAt)}</td>
                      <td>{grant.expiresAt ? formatInstant(grant.expiresAt) : 'never'}</td>
                      <td class="row-actions">
                        <button type="button" aria-label={`Ledger of ${name}`} onClick={() => setOpen({ grantId: grant.id, panel: 'ledger' })}>
                          Ledger
                        </button>
                        {live ? (
                          <>
                            <button type="button" aria-label={`Move the expiry of ${name}`} onClick={() => setOpen({ grantId: grant.id, panel: 'expiry' })}>
                              Move expiry
                            </button>
                            <button type="button" class="danger" aria-label={`Revoke ${name}`} onClick={() => setOpen({ grantId: grant.id, panel: 'revoke' })}>
                              Revoke
                            </button>
                          </>
                        ) : null}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </Table>
          )
        ) : null}
      </Section>
      {selected && open?.panel === 'ledger' ? <Ledger key={selected.id} grant={selected} onClose={() => setOpen(undefined)} /> : null}
      {selected && open?.panel === 'expiry' ? (
        <MoveExpiry key={selected.id} grant={selected} onClose={() => setOpen(undefined)} onDone={(grant) => changed(`The grant now ${grant.expiresAt ? `expires ${formatInstant(grant.expiresAt)}` : 'never expires'}.`)} />
      ) : null}
      {selected && open?.panel === 'revoke' ? (
        <Revoke key={selected.id} grant={selected} onClose={() => setOpen(undefined)} onDone={() => changed('The grant was revoked; its available credits were taken back.')} />
      ) : null}
      <Reservations userId={userId} />
      <Orders userId={userId} />
      <Subscriptions userId={userId} />
    </OperatorShell>
  );
}

function AssignPackage({ userId, onDone }: { userId: string; onDone(grant: Schemas['Grant']): void }) {
  const packages = useLoad(() => ok(adminApi.GET('/v1/admin/packages')), []);
  const assignable = packages.data?.items.filter((item) => item.status === 'active' && !item.deletedAt) ?? [];
  const [packageCode, setPackageCode] = useState('');
  const [source, setSource] = useState<'gift' | 'purchase' | 'promotion' | 'system'>('gift');
  const [note, setNote] = useState('');
  const [startsAt, setStartsAt] = useState('');
  const chosen = packageCode || assignable[0]?.code || '';
  const assign = useAction(
    (key: string) =>
      ok(
        adminApi.POST('/v1/admin/users/{userId}/packages', {
          params: { path: { userId }, header: { 'Idempotency-Key': key } },
          body: { packageCode: chosen, source, ...(note.trim() ? { note: note.trim() } : {}), ...(startsAt ? { startsAt: localInputToIso(startsAt) } : {}) },
        }),
      ),
    (grant) => {
      setNote('');
      setStartsAt('');
      onDone(grant);
    },
  );
  return (
    <Section title="Assign a package">
      <Refusal error={packages.error} />
      <Form label="Assign a package" onSubmit={() => void assign.run()}>
        <div class="grid">
          <Field label="Package">
            <select required value={chosen} onChange={(event) => setPackageCode(valueOf(event))}>
              {assignable.map((item) => (
                <option key={item.code} value={item.code}>
                  {item.name} ({item.code}: {item.creditsAmount} credits{item.durationDays ? `, ${item.durationDays} days` : ''})
                </option>
              ))}
            </select>
          </Field>
          <Field label="Source">
            <select value={source} onChange={(event) => setSource(valueOf(event) as typeof source)}>
              <option value="gift">gift</option>
              <option value="promotion">promotion</option>
              <option value="purchase">purchase</option>
              <option value="system">system</option>
            </select>
          </Field>
          <Field label="Note" hint="Why, for the audit trail.">
            <input maxLength={500} value={note} onInput={(event) => setNote(valueOf(event))} />
          </Field>
          <Field label="Starts at" hint="Empty: now. Your local time.">
            <input type="datetime-local" value={startsAt} onInput={(event) => setStartsAt(valueOf(event))} />
          </Field>
        </div>
        <div class="actions">
          <button type="submit" class="primary" disabled={assign.pending || !chosen}>
            Assign package
          </button>
        </div>
      </Form>
      <Refusal error={assign.error} />
    </Section>
  );
}

function Ledger({ grant, onClose }: { grant: Grant; onClose(): void }) {
  const [pages, setPages] = useState<string[]>(['']);
  const cursor = pages[pages.length - 1]!;
  const ledger = useLoad(
    () => ok(adminApi.GET('/v1/admin/grants/{grantId}/ledger', { params: { path: { grantId: grant.id }, query: { limit: 50, ...(cursor ? { cursor } : {}) } } })),
    [grant.id, cursor],
  );
  return (
    <Section title={`Ledger of grant ${grant.id}`} actions={<button type="button" onClick={onClose}>Close ledger</button>}>
      <Refusal error={ledger.error} />
      {ledger.data ? (
        <>
          <Table caption="Ledger entries">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Entry</th>
                <th scope="col" class="num">Available</th>
                <th scope="col" class="num">Held</th>
                <th scope="col" class="num">Used</th>
                <th scope="col">Reference</th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              {ledger.data.items.map((entry) => (
                <tr key={entry.id}>
                  <td>{formatInstant(entry.createdAt)}</td>
                  <td>{entry.entryType}</td>
                  <td class="num">{signed(entry.amount)}</td>
                  <td class="num">{signed(entry.reservedDelta)}</td>
                  <td class="num">{signed(entry.usedDelta)}</td>
                  <td>
                    {entry.referenceType} <code>{entry.referenceId}</code>
                  </td>
                  <td>{entry.actor}</td>
                </tr>
              ))}
            </tbody>
          </Table>
          <Pager hasPrevious={pages.length > 1} next={ledger.data.nextCursor} onPrevious={() => setPages(pages.slice(0, -1))} onNext={(next) => setPages([...pages, next])} />
        </>
      ) : null}
    </Section>
  );
}

function signed(value: number): string {
  return value > 0 ? `+${value}` : String(value);
}

function MoveExpiry({ grant, onClose, onDone }: { grant: Grant; onClose(): void; onDone(grant: Schemas['Grant']): void }) {
  const [expiresAt, setExpiresAt] = useState(grant.expiresAt ? isoToLocalInput(grant.expiresAt) : '');
  const [permanent, setPermanent] = useState(false);
  const [reason, setReason] = useState('');
  const move = useAction(
    (key: string) =>
      ok(
        adminApi.POST('/v1/admin/user-packages/{userPackageId}/expiry', {
          params: { path: { userPackageId: grant.id }, header: { 'Idempotency-Key': key } },
          body: { expiresAt: permanent ? null : localInputToIso(expiresAt), reason: reason.trim() },
        }),
      ),
    onDone,
  );
  return (
    <Section title="Move the expiry">
      <p>
        Now: {grant.expiresAt ? formatInstant(grant.expiresAt) : 'never expires'}. The package's timer moves with it (its reminders and expiry
        follow the new date).
      </p>
      <Form label="Move the expiry" onSubmit={() => void move.run()}>
        <div class="grid">
          <Field label="New expiry" hint="Your local time.">
            <input type="datetime-local" required={!permanent} disabled={permanent} value={expiresAt} onInput={(event) => setExpiresAt(valueOf(event))} />
          </Field>
          <label class="inline">
            <input type="checkbox" checked={permanent} onChange={(event) => setPermanent((event.currentTarget as HTMLInputElement).checked)} /> Never expires
          </label>
          <Field label="Reason">
            <input required maxLength={500} value={reason} onInput={(event) => setReason(valueOf(event))} />
          </Field>
        </div>
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={move.pending}>
            Move expiry
          </button>
        </div>
      </Form>
      <Refusal error={move.error} />
    </Section>
  );
}

function Revoke({ grant, onClose, onDone }: { grant: Grant; onClose(): void; onDone(): void }) {
  const [reason, setReason] = useState('');
  const revoke = useAction(
    (key: string) =>
      ok(
        adminApi.POST('/v1/admin/user-packages/{userPackageId}/revoke', {
          params: { path: { userPackageId: grant.id }, header: { 'Idempotency-Key': key } },
          body: { reason: reason.trim() },
        }),
      ),
    onDone,
  );
  return (
    <ConfirmDialog open danger title="Revoke this grant?" confirmLabel="Revoke grant" pending={revoke.pending} error={revoke.error} onCancel={onClose} onConfirm={() => void revoke.run()}>
      <p>
        Its {grant.availableCredits} available credits are taken back now and its timer ends. Credits already held ({grant.reservedCredits}) still
        settle.
      </p>
      <Field label="Reason">
        <input required maxLength={500} value={reason} onInput={(event) => setReason(valueOf(event))} />
      </Field>
    </ConfirmDialog>
  );
}

function Reservations({ userId }: { userId: string }) {
  const [pages, setPages] = useState<string[]>(['']);
  const cursor = pages[pages.length - 1]!;
  const reservations = useLoad(() => ok(adminApi.GET('/v1/admin/reservations', { params: { query: { userId, limit: 20, ...(cursor ? { cursor } : {}) } } })), [userId, cursor]);
  return (
    <Section title="Reservations">
      <Refusal error={reservations.error} />
      {reservations.data ? (
        reservations.data.items.length === 0 ? (
          <p>No reservations.</p>
        ) : (
          <>
            <Table caption={`Reservations of ${userId}`}>
              <thead>
                <tr>
                  <th scope="col">Created</th>
                  <th scope="col">Action</th>
                  <th scope="col" class="num">Quantity</th>
                  <th scope="col" class="num">Credits held</th>
                  <th scope="col">Status</th>
                  <th scope="col">Deadline</th>
                  <th scope="col">Settled</th>
                </tr>
              </thead>
              <tbody>
                {reservations.data.items.map((reservation) => (
                  <tr key={reservation.id}>
                    <td title={reservation.id}>{formatInstant(reservation.createdAt)}</td>
                    <td>
                      <code>{reservation.actionKey}</code>
                    </td>
                    <td class="num">{reservation.quantity}</td>
                    <td class="num">{reservation.creditsHeld}</td>
                    <td>
                      <StatusBadge status={reservation.status} />
                    </td>
                    <td>{formatInstant(reservation.expiresAt)}</td>
                    <td>{formatInstant(reservation.settledAt)}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
            <Pager hasPrevious={pages.length > 1} next={reservations.data.nextCursor} onPrevious={() => setPages(pages.slice(0, -1))} onNext={(next) => setPages([...pages, next])} />
          </>
        )
      ) : null}
    </Section>
  );
}

function Orders({ userId }: { userId: string }) {
  const orders = useLoad(() => ok(adminApi.GET('/v1/admin/orders', { params: { query: { userId, limit: 50 } } })), [userId]);
  return (
    <Section title="Orders">
      <Refusal error={orders.error} />
      {orders.data ? (
        orders.data.items.length === 0 ? (
          <p>No orders.</p>
        ) : (
          <OrderTable caption={`Orders of ${userId}`} orders={orders.data.items} showUser={false} />
        )
      ) : null}
    </Section>
  );
}

function Subscriptions({ userId }: { userId: string }) {
  const subscriptions = useLoad(() => ok(adminApi.GET('/v1/admin/users/{userId}/subscriptions', { params: { path: { userId } } })), [userId]);
  return (
    <Section title="Subscriptions">
      <Refusal error={subscriptions.error} />
      {subscriptions.data ? (
        subscriptions.data.items.length === 0 ? (
          <p>No subscriptions.</p>
        ) : (
          <Table caption={`Subscriptions of ${userId}`}>
            <thead>
              <tr>
                <th scope="col">Subscription</th>
                <th scope="col">Status</th>
                <th scope="col">Current period</th>
                <th scope="col" class="num">Paid periods</th>
              </tr>
            </thead>
            <tbody>
              {subscriptions.data.items.map((subscription) => (
                <tr key={subscription.id}>
                  <th scope="row">
                    <code>{subscription.id.slice(0, 8)}</code>
                  </th>
                  <td>
                    <StatusBadge status={subscription.status} />
                  </td>
                  <td>
                    {formatInstant(subscription.currentPeriodStart)} – {subscription.currentPeriodEnd ? formatInstant(subscription.currentPeriodEnd) : 'no end'}
                  </td>
                  <td class="num">{subscription.periods.length}</td>
                </tr>
              ))}
            </tbody>
          </Table>
        )
      ) : null}
    </Section>
  );
}
