import { useEffect, useState } from 'preact/hooks';
import { asApiError, ok, type ApiError, type Schemas } from '../api/client';
import { userApi } from '../api/instances';
import type { paths } from '../api/schema';
import { userSession } from '../session';
import { checkedOf, Field, Form, Loading, Notice, Pager, Refusal, Section, StatusBadge, Table, valueOf } from '../ui/components';
import { dayAfter, dayStart, formatInstant, formatMoney } from '../ui/format';
import { useAction, useLoad, useSession, useTitle } from '../ui/hooks';

type NoticeType = Schemas['NotificationSettings']['emailOptOut'][number];
type OptOut = NonNullable<paths['/v1/me/notification-settings']['put']['requestBody']>['content']['application/json']['emailOptOut'][number];

/**
 * The token can arrive in the URL's fragment (`/console/me#token=…`), which browsers never send to a
 * server: the business service links its signed-in user here with a fresh token. It is moved into
 * memory and taken out of the address bar and the history at once.
 */
function takeTokenFromFragment(): void {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return;
  history.replaceState(null, '', location.pathname + location.search);
  userSession.set(decodeURIComponent(match[1]!));
}
takeTokenFromFragment();

export default function MyAccountPage() {
  const token = useSession(userSession);
  useTitle(token ? 'My account' : 'Sign in');
  if (!token) return <TokenForm />;
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">My account</span>
        <nav aria-label="Sections">
          <ul>
            <li>
              <a href="#credits">Credits</a>
            </li>
            <li>
              <a href="#history">History</a>
            </li>
            <li>
              <a href="#orders">Orders</a>
            </li>
            <li>
              <a href="#invoices">Invoices</a>
            </li>
            <li>
              <a href="#notifications">Notifications</a>
            </li>
          </ul>
        </nav>
        <button type="button" class="link-button" onClick={() => userSession.set(undefined, 'Signed out.')}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <h1>My account</h1>
        <Credits />
        <History />
        <Orders />
        <Invoices />
        <NotificationSettings />
      </main>
    </div>
  );
}

function TokenForm() {
  const [token, setToken] = useState('');
  const ended = userSession.endedBecause();
  return (
    <main class="narrow" id="main">
      <h1>My account</h1>
      <p>Open this page from the service you use (it signs you in), or paste the access token it gave you. The token is kept in this tab's memory only.</p>
      {ended ? (
        <p class="notice" role="status">
          {ended}
        </p>
      ) : null}
      <Form label="Sign in with a token" onSubmit={() => userSession.set(token.trim())}>
        <Field label="Access token">
          <input type="password" autoComplete="off" spellcheck={false} required value={token} onInput={(event) => setToken(valueOf(event))} />
        </Field>
        <div class="actions">
          <button class="primary" type="submit" disabled={token.trim() === ''}>
            Open my account
          </button>
        </div>
      </Form>
    </main>
  );
}

function Credits() {
  const credits = useLoad(() => ok(userApi.GET('/v1/me/credits')), []);
  const grants = useLoad(() => ok(userApi.GET('/v1/me/packages')), []);
  return (
    <section class="card" id="credits" aria-labelledby="credits-title">
      <div class="card-head">
        <h2 id="credits-title">Credits</h2>
      </div>
      <Refusal error={credits.error ?? grants.error} />
      {credits.data ? (
        <p class="big-number">
          <strong data-testid="available-credits">{credits.data.availableCredits}</strong> credits available
        </p>
      ) : (
        !credits.error && <Loading what="credits" />
      )}
      {grants.data ? (
        grants.data.items.length === 0 ? (
          <p>No packages yet.</p>
        ) : (
          <Table caption="My packages">
            <thead>
              <tr>
                <th scope="col">Package</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">Remaining</th>
                <th scope="col">Expires</th>
              </tr>
            </thead>
            <tbody>
              {grants.data.items.map((grant) => (
                <tr key={grant.id}>
                  <th scope="row">{grant.package?.name ?? grant.note ?? grant.source}</th>
                  <td>
                    <StatusBadge status={grant.status} />
                  </td>
                  <td class="num">
                    {grant.availableCredits} <span class="muted">of {grant.totalCredits}</span>
                  </td>
                  <td>{grant.expiresAt ? formatInstant(grant.expiresAt) : 'never'}</td>
                </tr>
              ))}
            </tbody>
          </Table>
        )
      ) : null}
    </section>
  );
}

interface HistoryFilters {
  from: string;
  to: string;
  actionKey: string;
}

function History() {
  const actions = useLoad(() => ok(userApi.GET('/v1/action-prices')), []);
  const [draft, setDraft] = useState<HistoryFilters>({ from: '', to: '', actionKey: '' });
  const [filters, setFilters] = useState(draft);
  const [pages, setPages] = useState<string[]>(['']);
  const cursor = pages[pages.length - 1]!;
  const history = useLoad(
    () =>
      ok(
        userApi.GET('/v1/me/consumptions', {
          params: {
            query: {
              limit: 20,
              ...(filters.from ? { from: dayStart(filters.from) } : {}),
              ...(filters.to ? { to: dayAfter(filters.to) } : {}),
              ...(filters.actionKey ? { actionKey: filters.actionKey } : {}),
              ...(cursor ? { cursor } : {}),
            },
          },
        }),
      ),
    [filters, cursor],
  );
  const names = new Map(actions.data?.items.map((price) => [price.actionKey, price.name]));
  const set = (field: keyof HistoryFilters) => (event: Event) => setDraft({ ...draft, [field]: valueOf(event) });
  return (
    <section class="card" id="history" aria-labelledby="history-title">
      <div class="card-head">
        <h2 id="history-title">Consumption history</h2>
      </div>
      <Form
        label="Filter the history"
        onSubmit={() => {
          setFilters(draft);
          setPages(['']);
        }}
      >
        <div class="grid">
          <Field label="From" hint="UTC day, inclusive.">
            <input type="date" value={draft.from} onInput={set('from')} />
          </Field>
          <Field label="To" hint="UTC day, inclusive.">
            <input type="date" value={draft.to} onInput={set('to')} />
          </Field>
          <Field label="Action">
            <select value={draft.actionKey} onChange={set('actionKey')}>
              <option value="">every action</option>
              {actions.data?.items.map((price) => (
                <option key={price.actionKey} value={price.actionKey}>
                  {price.name}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <div class="actions">
          <button type="submit" class="primary">
            Filter
          </button>
        </div>
      </Form>
      <Refusal error={history.error} />
      {history.data ? (
        history.data.items.length === 0 ? (
          <p>No consumption{filters.from || filters.to || filters.actionKey ? ' matches these filters' : ' yet'}.</p>
        ) : (
          <>
            <Table caption="My consumption history">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Action</th>
                  <th scope="col" class="num">Credits</th>
                  <th scope="col" class="num">Refunded</th>
                  <th scope="col" class="num">Quantity</th>
                </tr>
              </thead>
              <tbody>
                {history.data.items.map((consumption) => (
                  <tr key={consumption.id}>
                    <td>{formatInstant(consumption.createdAt)}</td>
                    <td>{names.get(consumption.actionKey) ?? consumption.actionKey}</td>
                    <td class="num">{consumption.creditsCost}</td>
                    <td class="num">{consumption.creditsRefunded || '—'}</td>
                    <td class="num">{consumption.quantity}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
            <Pager hasPrevious={pages.length > 1} next={history.data.nextCursor} onPrevious={() => setPages(pages.slice(0, -1))} onNext={(next) => setPages([...pages, next])} />
          </>
        )
      ) : (
        !history.error && <Loading what="history" />
      )}
    </section>
  );
}

function Orders() {
  const orders = useLoad(() => ok(userApi.GET('/v1/me/orders')), []);
  return (
    <section class="card" id="orders" aria-labelledby="orders-title">
      <div class="card-head">
        <h2 id="orders-title">Orders</h2>
      </div>
      <Refusal error={orders.error} />
      {orders.data ? (
        orders.data.items.length === 0 ? (
          <p>No orders.</p>
        ) : (
          <Table caption="My orders">
            <thead>
              <tr>
                <th scope="col">Placed</th>
                <th scope="col">Package</th>
                <th scope="col" class="num">Amount</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {orders.data.items.map((order) => (
                <tr key={order.id}>
                  <td>{formatInstant(order.createdAt)}</td>
                  <th scope="row">{order.package.name}</th>
                  <td class="num">{formatMoney(order.amountMinor, order.currency)}</td>
                  <td>
                    <StatusBadge status={order.status} />
                    {order.status === 'pending_payment' && order.paymentUrl ? (
                      <>
                        {' '}
                        <a href={order.paymentUrl} rel="noreferrer">
                          Pay
                        </a>
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )
      ) : null}
    </section>
  );
}

/**
 * The PDF routes take the user token in the Authorization header, which a plain link cannot send: the
 * PDF is fetched through the client (so an expired token still ends the session) and handed to the
 * browser as a file from an object URL.
 */
function usePdfDownload() {
  const [state, setState] = useState<{ pending?: string; error?: ApiError }>({});
  const download = async (number: string, fetchPdf: () => Promise<Blob>) => {
    setState({ pending: number });
    try {
      const blob = await fetchPdf();
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `${number}.pdf`;
      link.click();
      // The browser has started reading the file by then; the URL only keeps the blob alive.
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      setState({});
    } catch (error) {
      setState({ error: asApiError(error) });
    }
  };
  return { download, pending: state.pending, error: state.error };
}

function PdfButton({ what, number, pending, onClick }: { what: string; number: string; pending: string | undefined; onClick(): void }) {
  return (
    <button type="button" class="link-button" aria-label={`Download ${what} ${number} as PDF`} disabled={pending === number} onClick={onClick}>
      {pending === number ? 'Preparing…' : 'PDF'}
    </button>
  );
}

/** Cursor paging of one list: the cursors of the pages before this one, so "Previous" goes back. */
function usePages() {
  const [pages, setPages] = useState<string[]>(['']);
  const cursor = pages[pages.length - 1]!;
  // A list that fits on one page shows no pager (the page has several lists; one pair of buttons is enough).
  return {
    cursor,
    query: cursor ? { cursor } : {},
    hasPrevious: pages.length > 1,
    previous: () => setPages(pages.slice(0, -1)),
    next: (next: string) => setPages([...pages, next]),
  };
}

function Invoices() {
  const invoicePages = usePages();
  const notePages = usePages();
  const invoices = useLoad(() => ok(userApi.GET('/v1/me/invoices', { params: { query: { limit: 20, ...invoicePages.query } } })), [invoicePages.cursor]);
  const notes = useLoad(() => ok(userApi.GET('/v1/me/credit-notes', { params: { query: { limit: 20, ...notePages.query } } })), [notePages.cursor]);
  const pdf = usePdfDownload();
  return (
    <section class="card" id="invoices" aria-labelledby="invoices-title">
      <div class="card-head">
        <h2 id="invoices-title">Invoices</h2>
      </div>
      <Refusal error={invoices.error ?? notes.error} />
      <Refusal error={pdf.error} />
      {invoices.data ? (
        invoices.data.items.length === 0 ? (
          <p>No invoices yet.</p>
        ) : (
          <>
            <Table caption="My invoices">
              <thead>
                <tr>
                  <th scope="col">Number</th>
                  <th scope="col">Issued</th>
                  <th scope="col" class="num">Total</th>
                  <th scope="col">Status</th>
                  <th scope="col">Document</th>
                </tr>
              </thead>
              <tbody>
                {invoices.data.items.map((invoice) => (
                  <tr key={invoice.id}>
                    <th scope="row">{invoice.number}</th>
                    <td>{formatInstant(invoice.issuedAt)}</td>
                    <td class="num">{formatMoney(invoice.totalMinor, invoice.currency)}</td>
                    <td>
                      <StatusBadge status={invoice.status} />
                    </td>
                    <td>
                      <PdfButton
                        what="invoice"
                        number={invoice.number}
                        pending={pdf.pending}
                        onClick={() =>
                          void pdf.download(invoice.number, () => ok(userApi.GET('/v1/me/invoices/{invoiceId}/pdf', { params: { path: { invoiceId: invoice.id } }, parseAs: 'blob' })))
                        }
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </Table>
            {invoicePages.hasPrevious || invoices.data.nextCursor ? (
              <Pager hasPrevious={invoicePages.hasPrevious} next={invoices.data.nextCursor} onPrevious={invoicePages.previous} onNext={invoicePages.next} />
            ) : null}
          </>
        )
      ) : (
        !invoices.error && <Loading what="invoices" />
      )}
      {notes.data && notes.data.items.length > 0 ? (
        <>
          <h3>Credit notes</h3>
          <Table caption="My credit notes">
            <thead>
              <tr>
                <th scope="col">Number</th>
                <th scope="col">Issued</th>
                <th scope="col">Invoice</th>
                <th scope="col" class="num">Amount</th>
                <th scope="col">Document</th>
              </tr>
            </thead>
            <tbody>
              {notes.data.items.map((note) => (
                <tr key={note.id}>
                  <th scope="row">{note.number}</th>
                  <td>{formatInstant(note.issuedAt)}</td>
                  <td>{note.invoiceNumber}</td>
                  <td class="num">{formatMoney(note.amountMinor, note.currency)}</td>
                  <td>
                    <PdfButton
                      what="credit note"
                      number={note.number}
                      pending={pdf.pending}
                      onClick={() =>
                        void pdf.download(note.number, () => ok(userApi.GET('/v1/me/credit-notes/{creditNoteId}/pdf', { params: { path: { creditNoteId: note.id } }, parseAs: 'blob' })))
                      }
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
          {notePages.hasPrevious || notes.data.nextCursor ? (
            <Pager hasPrevious={notePages.hasPrevious} next={notes.data.nextCursor} onPrevious={notePages.previous} onNext={notePages.next} />
          ) : null}
        </>
      ) : null}
    </section>
  );
}

/** Which notices are emailed: every type listed, checked unless opted out. */
const NOTICE_TYPES: { type: OptOut; label: string }[] = [
  { type: 'balance.low', label: 'My balance runs low' },
  { type: 'package.expiring_soon', label: 'A package is about to expire' },
  { type: 'package.expired', label: 'A package expired' },
  { type: 'credits.granted', label: 'I receive credits' },
  { type: 'order.paid', label: 'An order is paid' },
  { type: 'subscription.renewed', label: 'A subscription renews' },
  { type: 'order.refunded', label: 'An order is refunded' },
];

function NotificationSettings() {
  const settings = useLoad(() => ok(userApi.GET('/v1/me/notification-settings')), []);
  const [email, setEmail] = useState<string>();
  const [optOut, setOptOut] = useState<NoticeType[]>();
  useEffect(() => {
    if (!settings.data) return;
    setEmail(settings.data.email ?? '');
    setOptOut(settings.data.emailOptOut);
  }, [settings.data]);
  // PUT replaces the whole document, so repeating it changes nothing: it takes no Idempotency-Key.
  const save = useAction(
    (_key: string) => ok(userApi.PUT('/v1/me/notification-settings', { body: { email: email?.trim() ? email.trim() : null, emailOptOut: (optOut ?? []) as OptOut[] } })),
    () => settings.reload(),
  );
  return (
    <section class="card" id="notifications" aria-labelledby="notifications-title">
      <div class="card-head">
        <h2 id="notifications-title">Notification settings</h2>
      </div>
      <Refusal error={settings.error} />
      {optOut !== undefined ? (
        <Form label="Notification settings" onSubmit={() => void save.run()}>
          <Field label="Email address" hint="Empty: no emails (notices stay in the service).">
            <input type="email" autoComplete="email" value={email} onInput={(event) => setEmail(valueOf(event))} />
          </Field>
          <fieldset>
            <legend>Email me when</legend>
            <div class="checks">
              {NOTICE_TYPES.map(({ type, label }) => (
                <label class="inline" key={type}>
                  <input
                    type="checkbox"
                    checked={!optOut.includes(type)}
                    onChange={(event) => setOptOut(checkedOf(event) ? optOut.filter((one) => one !== type) : [...optOut, type])}
                  />{' '}
                  {label}
                </label>
              ))}
            </div>
          </fieldset>
          <div class="actions">
            <button type="submit" class="primary" disabled={save.pending}>
              Save settings
            </button>
          </div>
          {save.result && !save.pending ? <Notice>Saved.</Notice> : null}
          <Refusal error={save.error} />
        </Form>
      ) : (
        !settings.error && <Loading what="settings" />
      )}
    </section>
  );
}
