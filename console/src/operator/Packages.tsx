import { useState } from 'preact/hooks';
import { ok, type Schemas } from '../api/client';
import { adminApi } from '../api/instances';
import { checkedOf, ConfirmDialog, Field, Form, Loading, Notice, Refusal, Section, StatusBadge, Table, valueOf } from '../ui/components';
import { formatMoney } from '../ui/format';
import { useAction, useLoad } from '../ui/hooks';
import { OperatorShell } from './Shell';

type BillingPackage = Schemas['BillingPackage'];
type PackageType = BillingPackage['type'];

export default function PackagesPage() {
  const [includeDeleted, setIncludeDeleted] = useState(false);
  const packages = useLoad(() => ok(adminApi.GET('/v1/admin/packages', { params: { query: { includeDeleted: includeDeleted ? 'true' : 'false' } } })), [includeDeleted]);
  const [open, setOpen] = useState<{ id: string; panel: 'edit' | 'prices' | 'withdraw' }>();
  const [notice, setNotice] = useState<string>();
  const done = (message: string) => {
    setOpen(undefined);
    setNotice(message);
    packages.reload();
  };
  const selected = packages.data?.items.find((item) => item.id === open?.id);
  return (
    <OperatorShell title="Packages">
      {notice ? <Notice>{notice}</Notice> : null}
      <Section
        title="Packages"
        actions={
          <label class="inline">
            <input type="checkbox" checked={includeDeleted} onChange={(event) => setIncludeDeleted(checkedOf(event))} /> Show withdrawn
          </label>
        }
      >
        <Refusal error={packages.error} />
        {packages.data ? (
          <Table caption="Packages">
            <thead>
              <tr>
                <th scope="col">Code</th>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col" class="num">Credits</th>
                <th scope="col" class="num">Days</th>
                <th scope="col" class="num">Price</th>
                <th scope="col">On sale</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {packages.data.items.map((item) => (
                <tr key={item.id}>
                  <th scope="row">
                    <code>{item.code}</code>
                  </th>
                  <td>{item.name}</td>
                  <td>{item.type}</td>
                  <td class="num">{item.creditsAmount}</td>
                  <td class="num">{item.durationDays ?? '—'}</td>
                  <td class="num">{formatMoney(item.priceMinor, item.currency)}</td>
                  <td>
                    {item.deletedAt ? <StatusBadge status="withdrawn" /> : <StatusBadge status={item.status} />}
                    {!item.visible && !item.deletedAt ? <span class="muted"> hidden</span> : null}
                  </td>
                  <td class="row-actions">
                    {item.deletedAt ? null : (
                      <>
                        <button type="button" aria-label={`Edit ${item.code}`} onClick={() => setOpen({ id: item.id, panel: 'edit' })}>
                          Edit
                        </button>
                        <button type="button" aria-label={`Prices of ${item.code}`} onClick={() => setOpen({ id: item.id, panel: 'prices' })}>
                          Prices
                        </button>
                        <button type="button" class="danger" aria-label={`Withdraw ${item.code}`} onClick={() => setOpen({ id: item.id, panel: 'withdraw' })}>
                          Withdraw
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        ) : (
          !packages.error && <Loading what="packages" />
        )}
      </Section>
      {selected && open?.panel === 'edit' ? (
        <EditPackage key={selected.id} item={selected} onClose={() => setOpen(undefined)} onDone={(item) => done(`Saved ${item.code}.`)} />
      ) : null}
      {selected && open?.panel === 'prices' ? (
        <PackagePrices key={selected.id} item={selected} onClose={() => setOpen(undefined)} onDone={() => done(`Saved the prices of ${selected.code}.`)} />
      ) : null}
      {selected && open?.panel === 'withdraw' ? (
        <Withdraw key={selected.id} item={selected} onClose={() => setOpen(undefined)} onDone={(item) => done(`Withdrew ${item.code}.`)} />
      ) : null}
      <CreatePackage onDone={(item) => done(`Created ${item.code}.`)} />
    </OperatorShell>
  );
}

interface PackageForm {
  code: string;
  name: string;
  type: PackageType;
  creditsAmount: string;
  durationDays: string;
  priceMinor: string;
  currency: string;
  visible: boolean;
  defaultPriority: string;
  status: BillingPackage['status'];
}

function PackageFields({ form, setForm, creating }: { form: PackageForm; setForm(form: PackageForm): void; creating: boolean }) {
  const set = (field: keyof PackageForm) => (event: Event) => setForm({ ...form, [field]: valueOf(event) });
  const price = Number(form.priceMinor);
  return (
    <div class="grid">
      {creating ? (
        <>
          <Field label="Code" hint="Lower case letters, digits, _ and -.">
            <input required pattern="[a-z0-9]+([_\-][a-z0-9]+)*" maxLength={64} value={form.code} onInput={set('code')} />
          </Field>
          <Field label="Type">
            <select value={form.type} onChange={set('type')}>
              <option value="credits">credits</option>
              <option value="duration">duration</option>
              <option value="hybrid">hybrid</option>
              <option value="permanent">permanent</option>
            </select>
          </Field>
        </>
      ) : null}
      <Field label="Name">
        <input required maxLength={200} value={form.name} onInput={set('name')} />
      </Field>
      <Field label="Credits">
        <input type="number" inputMode="numeric" min={0} step={1} required value={form.creditsAmount} onInput={set('creditsAmount')} />
      </Field>
      <Field label="Duration in days" hint={form.type === 'permanent' ? 'Permanent packages have none.' : 'Empty: no expiry (credits packages only).'}>
        <input type="number" inputMode="numeric" min={1} step={1} disabled={form.type === 'permanent'} value={form.durationDays} onInput={set('durationDays')} />
      </Field>
      <Field label="Price in minor units" hint={Number.isInteger(price) && form.currency.length === 3 ? `= ${formatMoney(price, form.currency)}` : 'e.g. 999 for $9.99'}>
        <input type="number" inputMode="numeric" min={0} step={1} required value={form.priceMinor} onInput={set('priceMinor')} />
      </Field>
      <Field label="Currency">
        <input required pattern="[A-Z]{3}" maxLength={3} value={form.currency} onInput={(event) => setForm({ ...form, currency: valueOf(event).toUpperCase() })} />
      </Field>
      <Field label="Default priority" hint="Lower is spent first.">
        <input type="number" inputMode="numeric" step={1} required value={form.defaultPriority} onInput={set('defaultPriority')} />
      </Field>
      <Field label="Status">
        <select value={form.status} onChange={set('status')}>
          <option value="active">active</option>
          <option value="disabled">disabled</option>
        </select>
      </Field>
      <label class="inline">
        <input type="checkbox" checked={form.visible} onChange={(event) => setForm({ ...form, visible: checkedOf(event) })} /> Visible in the storefront
      </label>
    </div>
  );
}

function formOf(item: BillingPackage): PackageForm {
  return {
    code: item.code,
    name: item.name,
    type: item.type,
    creditsAmount: String(item.creditsAmount),
    durationDays: item.durationDays === null ? '' : String(item.durationDays),
    priceMinor: String(item.priceMinor),
    currency: item.currency,
    visible: item.visible,
    defaultPriority: String(item.defaultPriority),
    status: item.status,
  };
}

function durationOf(form: PackageForm): number | null {
  return form.type === 'permanent' || form.durationDays.trim() === '' ? null : Number(form.durationDays);
}

function EditPackage({ item, onClose, onDone }: { item: BillingPackage; onClose(): void; onDone(item: BillingPackage): void }) {
  const [form, setForm] = useState(formOf(item));
  const save = useAction(
    (key: string) =>
      ok(
        adminApi.PATCH('/v1/admin/packages/{packageId}', {
          params: { path: { packageId: item.id }, header: { 'Idempotency-Key': key } },
          body: {
            name: form.name,
            creditsAmount: Number(form.creditsAmount),
            durationDays: durationOf(form),
            priceMinor: Number(form.priceMinor),
            currency: form.currency,
            visible: form.visible,
            defaultPriority: Number(form.defaultPriority),
            status: form.status,
          },
        }),
      ),
    onDone,
  );
  return (
    <Section title={`Edit ${item.code}`}>
      <p class="muted">Users who hold this package keep what they were given; the change applies to later assignments and orders.</p>
      <Form label={`Edit ${item.code}`} onSubmit={() => void save.run()}>
        <PackageFields form={form} setForm={setForm} creating={false} />
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={save.pending}>
            Save package
          </button>
        </div>
      </Form>
      <Refusal error={save.error} />
    </Section>
  );
}

function Withdraw({ item, onClose, onDone }: { item: BillingPackage; onClose(): void; onDone(item: BillingPackage): void }) {
  const withdraw = useAction(
    (key: string) => ok(adminApi.DELETE('/v1/admin/packages/{packageId}', { params: { path: { packageId: item.id }, header: { 'Idempotency-Key': key } } })),
    onDone,
  );
  return (
    <ConfirmDialog
      open
      danger
      title={`Withdraw ${item.code}?`}
      confirmLabel="Withdraw package"
      pending={withdraw.pending}
      error={withdraw.error}
      onCancel={onClose}
      onConfirm={() => void withdraw.run()}
    >
      <p>
        {item.name} leaves the storefront and can no longer be assigned or ordered. Grants already given are untouched and keep their
        credits and expiry.
      </p>
    </ConfirmDialog>
  );
}

function PackagePrices({ item, onClose, onDone }: { item: BillingPackage; onClose(): void; onDone(): void }) {
  const current = useLoad(() => ok(adminApi.GET('/v1/packages/{packageCode}/prices', { params: { path: { packageCode: item.code } } })), [item.code]);
  const [rows, setRows] = useState<{ currency: string; amountMinor: string }[]>();
  const shown = rows ?? current.data?.items.filter((price) => !price.default).map((price) => ({ currency: price.currency, amountMinor: String(price.amountMinor) }));
  const save = useAction(
    (key: string) =>
      ok(
        adminApi.POST('/v1/admin/packages/{packageId}/prices', {
          params: { path: { packageId: item.id }, header: { 'Idempotency-Key': key } },
          body: { prices: (shown ?? []).map((row) => ({ currency: row.currency, amountMinor: Number(row.amountMinor) })) },
        }),
      ),
    onDone,
  );
  const update = (index: number, field: 'currency' | 'amountMinor', value: string) =>
    setRows((shown ?? []).map((row, at) => (at === index ? { ...row, [field]: field === 'currency' ? value.toUpperCase() : value } : row)));
  return (
    <Section title={`Prices of ${item.code}`}>
      <p>
        Default price: <strong>{formatMoney(item.priceMinor, item.currency)}</strong> (edit the package to change it). Prices in other currencies are
        set here, never converted.
      </p>
      <Refusal error={current.error} />
      {shown ? (
        <Form label={`Prices of ${item.code}`} onSubmit={() => void save.run()}>
          {shown.map((row, index) => (
            <div class="grid" key={index}>
              <Field label={`Currency ${index + 1}`}>
                <input required pattern="[A-Z]{3}" maxLength={3} value={row.currency} onInput={(event) => update(index, 'currency', valueOf(event))} />
              </Field>
              <Field label={`Amount ${index + 1} in minor units`} hint={/^[A-Z]{3}$/.test(row.currency) ? `= ${formatMoney(Number(row.amountMinor), row.currency)}` : undefined}>
                <input type="number" min={0} step={1} required value={row.amountMinor} onInput={(event) => update(index, 'amountMinor', valueOf(event))} />
              </Field>
              <button type="button" class="align-end" onClick={() => setRows(shown.filter((_, at) => at !== index))}>
                Remove {row.currency || 'price'}
              </button>
            </div>
          ))}
          <div class="actions">
            <button type="button" onClick={() => setRows([...shown, { currency: '', amountMinor: '' }])}>
              Add a currency
            </button>
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" class="primary" disabled={save.pending}>
              Save prices
            </button>
          </div>
        </Form>
      ) : (
        !current.error && <Loading what="prices" />
      )}
      <Refusal error={save.error} />
    </Section>
  );
}

function CreatePackage({ onDone }: { onDone(item: BillingPackage): void }) {
  const empty: PackageForm = {
    code: '',
    name: '',
    type: 'credits',
    creditsAmount: '100',
    durationDays: '30',
    priceMinor: '0',
    currency: 'USD',
    visible: true,
    defaultPriority: '100',
    status: 'active',
  };
  const [form, setForm] = useState(empty);
  const create = useAction(
    (key: string) => {
      const common = {
        code: form.code.trim(),
        name: form.name.trim(),
        creditsAmount: Number(form.creditsAmount),
        priceMinor: Number(form.priceMinor),
        currency: form.currency,
        visible: form.visible,
        defaultPriority: Number(form.defaultPriority),
        status: form.status,
      };
      const duration = durationOf(form);
      // The body's shape depends on the type (the API's schema is a union on it).
      const body =
        form.type === 'permanent'
          ? { ...common, type: 'permanent' as const }
          : form.type === 'credits'
            ? { ...common, type: 'credits' as const, durationDays: duration }
            : { ...common, type: form.type, durationDays: duration ?? 0 };
      return ok(adminApi.POST('/v1/admin/packages', { params: { header: { 'Idempotency-Key': key } }, body }));
    },
    (item) => {
      setForm(empty);
      onDone(item);
    },
  );
  return (
    <Section title="New package">
      <Form label="New package" onSubmit={() => void create.run()}>
        <PackageFields form={form} setForm={setForm} creating />
        <div class="actions">
          <button type="submit" class="primary" disabled={create.pending}>
            Create package
          </button>
        </div>
      </Form>
      <Refusal error={create.error} />
    </Section>
  );
}
