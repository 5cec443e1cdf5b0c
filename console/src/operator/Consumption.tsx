import { useMemo, useState } from 'preact/hooks';
import { ApiError, ok, refusalOf, type Schemas } from '../api/client';
import { adminApi } from '../api/instances';
import { BarChart, type Series } from '../charts/BarChart';
import { adminSession } from '../session';
import { Field, Form, Loading, Notice, Refusal, Section, valueOf } from '../ui/components';
import { dayAfter, dayStart, daysAgo, utcDay } from '../ui/format';
import { useLoad } from '../ui/hooks';
import { OperatorShell } from './Shell';

type StatsRow = Schemas['ConsumptionStats']['rows'][number];

interface Period {
  from: string;
  to: string;
  actionKey: string;
  userId: string;
}

export default function ConsumptionPage() {
  const prices = useLoad(() => ok(adminApi.GET('/v1/admin/action-prices')), []);
  const [draft, setDraft] = useState<Period>({ from: daysAgo(29), to: utcDay(new Date()), actionKey: '', userId: '' });
  const [period, setPeriod] = useState(draft);
  const query = {
    from: dayStart(period.from),
    to: dayAfter(period.to),
    ...(period.actionKey ? { actionKey: period.actionKey } : {}),
    ...(period.userId.trim() ? { userId: period.userId.trim() } : {}),
  };
  const byDay = useLoad(() => ok(adminApi.GET('/v1/admin/consumptions/stats', { params: { query: { ...query, groupBy: 'day' } } })), [period]);
  const byAction = useLoad(() => ok(adminApi.GET('/v1/admin/consumptions/stats', { params: { query: { ...query, groupBy: 'action' } } })), [period]);
  const set = (field: keyof Period) => (event: Event) => setDraft({ ...draft, [field]: valueOf(event) });
  const days = useMemo(() => (byDay.data ? everyDay(period.from, period.to, byDay.data.rows) : undefined), [byDay.data]);
  const actions = useMemo(() => (byAction.data ? seriesOf(byAction.data.rows) : undefined), [byAction.data]);
  return (
    <OperatorShell title="Consumption">
      <Section title="Period">
        <Form label="Consumption period" onSubmit={() => setPeriod(draft)}>
          <div class="grid">
            <Field label="From" hint="UTC day, inclusive.">
              <input type="date" required value={draft.from} onInput={set('from')} />
            </Field>
            <Field label="To" hint="UTC day, inclusive.">
              <input type="date" required value={draft.to} onInput={set('to')} />
            </Field>
            <Field label="Action">
              <select value={draft.actionKey} onChange={set('actionKey')}>
                <option value="">every action</option>
                {prices.data?.items.map((price) => (
                  <option key={price.actionKey} value={price.actionKey}>
                    {price.actionKey}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="User id" hint="Empty: every user.">
              <input maxLength={128} value={draft.userId} onInput={set('userId')} />
            </Field>
          </div>
          <div class="actions">
            <button type="submit" class="primary">
              Show report
            </button>
          </div>
        </Form>
      </Section>
      <Section title="Credits by day">
        <Refusal error={byDay.error} />
        {days ? <BarChart title="Credits by day" labelHeading="Day" labels={days.labels} series={days.series} /> : !byDay.error && <Loading what="the report" />}
      </Section>
      <Section title="Credits by action">
        <Refusal error={byAction.error} />
        {actions ? (
          actions.labels.length === 0 ? (
            <p>No consumption in this period.</p>
          ) : (
            <BarChart title="Credits by action" labelHeading="Action" labels={actions.labels} series={actions.series} />
          )
        ) : (
          !byAction.error && <Loading what="the report" />
        )}
      </Section>
      <Export query={query} />
    </OperatorShell>
  );
}

const CHARGED = '#1d4ed8';
const REFUNDED = '#b45309';

function seriesOf(rows: StatsRow[]): { labels: string[]; series: Series[] } {
  return {
    labels: rows.map((row) => row.key),
    series: [
      { label: 'Credits charged', values: rows.map((row) => row.creditsCost), color: CHARGED },
      { label: 'Credits refunded', values: rows.map((row) => row.creditsRefunded), color: REFUNDED },
    ],
  };
}

/** Days without consumption are in the API's answer as missing rows; the chart shows them as zero. */
function everyDay(from: string, to: string, rows: StatsRow[]): { labels: string[]; series: Series[] } {
  const found = new Map(rows.map((row) => [row.key, row]));
  const filled: StatsRow[] = [];
  for (let day = from; day <= to && filled.length < 366; day = dayAfter(day).slice(0, 10)) {
    filled.push(found.get(day) ?? { key: day, consumptions: 0, quantity: 0, creditsCost: 0, creditsRefunded: 0, netCredits: 0 });
  }
  return seriesOf(filled);
}

/** The CSV export needs the admin key in a header, so it is fetched and handed to the browser as a file. */
function Export({ query }: { query: Record<string, string> }) {
  const [state, setState] = useState<{ pending?: boolean; error?: ApiError; notice?: string }>({});
  const download = async () => {
    setState({ pending: true });
    const response = await fetch(`/v1/admin/consumptions/export.csv?${new URLSearchParams(query)}`, {
      headers: { Authorization: `Bearer ${adminSession.get() ?? ''}` },
    }).catch((error: Error) => error);
    if (response instanceof Error) return setState({ error: new ApiError(0, 'NETWORK', `The API could not be reached: ${response.message}`) });
    if (!response.ok) return setState({ error: refusalOf(response, await response.json().catch(() => undefined)) });
    const blob = await response.blob();
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `consumptions-${query.from?.slice(0, 10)}-to-${query.to?.slice(0, 10)}.csv`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    const truncated = response.headers.get('X-Export-Truncated') === 'true';
    setState({ notice: truncated ? 'Downloaded the first 100,000 rows: more matched, narrow the period.' : 'Downloaded.' });
  };
  return (
    <Section title="Export">
      <p>The consumptions of this period, one row each (CSV, newest first, at most 100,000 rows).</p>
      <div class="actions">
        <button type="button" class="primary" disabled={state.pending} onClick={() => void download()}>
          {state.pending ? 'Preparing…' : 'Download CSV'}
        </button>
      </div>
      {state.notice ? <Notice>{state.notice}</Notice> : null}
      <Refusal error={state.error} />
    </Section>
  );
}
