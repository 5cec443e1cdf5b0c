import { useState } from 'preact/hooks';
import { ok, type Schemas } from '../api/client';
import { adminApi } from '../api/instances';
import { Field, Form, Loading, Refusal, Section, valueOf } from '../ui/components';
import { dayAfter, dayStart } from '../ui/format';
import { useLoad } from '../ui/hooks';
import { OrderTable } from './OrderTable';
import { OperatorShell } from './Shell';

type OrderStatus = Schemas['Order']['status'];
const STATUSES: OrderStatus[] = ['pending_payment', 'paid', 'provisioning', 'completed', 'partially_refunded', 'refunded', 'cancelled', 'expired', 'failed'];

interface Filters {
  status: '' | OrderStatus;
  channel: string;
  userId: string;
  from: string;
  to: string;
}

export default function OrdersPage() {
  const channels = useLoad(() => ok(adminApi.GET('/v1/admin/payment-channels')), []);
  const [draft, setDraft] = useState<Filters>({ status: '', channel: '', userId: '', from: '', to: '' });
  const [filters, setFilters] = useState(draft);
  const orders = useLoad(
    () =>
      ok(
        adminApi.GET('/v1/admin/orders', {
          params: {
            query: {
              limit: 100,
              ...(filters.status ? { status: filters.status } : {}),
              ...(filters.channel ? { channel: filters.channel } : {}),
              ...(filters.userId.trim() ? { userId: filters.userId.trim() } : {}),
              ...(filters.from ? { from: dayStart(filters.from) } : {}),
              ...(filters.to ? { to: dayAfter(filters.to) } : {}),
            },
          },
        }),
      ),
    [filters],
  );
  const set = (field: keyof Filters) => (event: Event) => setDraft({ ...draft, [field]: valueOf(event) });
  return (
    <OperatorShell title="Orders">
      <Section title="Filter">
        <Form label="Filter orders" onSubmit={() => setFilters(draft)}>
          <div class="grid">
            <Field label="Status">
              <select value={draft.status} onChange={set('status')}>
                <option value="">any</option>
                {STATUSES.map((status) => (
                  <option key={status} value={status}>
                    {status.replace(/_/g, ' ')}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Channel">
              <select value={draft.channel} onChange={set('channel')}>
                <option value="">any</option>
                {channels.data?.items.map((channel) => (
                  <option key={channel.code} value={channel.code}>
                    {channel.name} ({channel.code})
                  </option>
                ))}
              </select>
            </Field>
            <Field label="User id">
              <input value={draft.userId} maxLength={128} onInput={set('userId')} />
            </Field>
            <Field label="Created from" hint="UTC day, inclusive.">
              <input type="date" value={draft.from} onInput={set('from')} />
            </Field>
            <Field label="Created to" hint="UTC day, inclusive.">
              <input type="date" value={draft.to} onInput={set('to')} />
            </Field>
          </div>
          <div class="actions">
            <button type="submit" class="primary">
              Show orders
            </button>
          </div>
        </Form>
      </Section>
      <Section title="Orders">
        <Refusal error={orders.error} />
        {orders.loading ? <Loading what="orders" /> : null}
        {orders.data ? (
          orders.data.items.length === 0 ? (
            <p>No order matches.</p>
          ) : (
            <>
              <OrderTable caption="Orders" orders={orders.data.items} showUser />
              {orders.data.items.length === 100 ? <p class="muted">The newest 100 are shown: narrow the period to see older ones.</p> : null}
            </>
          )
        ) : null}
      </Section>
    </OperatorShell>
  );
}
