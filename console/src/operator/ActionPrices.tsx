import { useState } from 'preact/hooks';
import { ok, type Schemas } from '../api/client';
import { adminApi } from '../api/instances';
import { ConfirmDialog, Field, Form, Loading, Notice, Refusal, Section, StatusBadge, Table, valueOf } from '../ui/components';
import { formatInstant } from '../ui/format';
import { useAction, useLoad } from '../ui/hooks';
import { OperatorShell } from './Shell';

type ActionPrice = Schemas['ActionPrice'];

export default function ActionPricesPage() {
  const prices = useLoad(() => ok(adminApi.GET('/v1/admin/action-prices')), []);
  const [editing, setEditing] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const changed = (message: string) => {
    setEditing(undefined);
    setNotice(message);
    prices.reload();
  };
  return (
    <OperatorShell title="Action prices">
      {notice ? <Notice>{notice}</Notice> : null}
      <Section title="Prices">
        <Refusal error={prices.error} />
        {prices.data ? (
          <Table caption="Action prices">
            <thead>
              <tr>
                <th scope="col">Action key</th>
                <th scope="col">Name</th>
                <th scope="col" class="num">
                  Credits per unit
                </th>
                <th scope="col">Status</th>
                <th scope="col">Changed</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {prices.data.items.map((price) => (
                <tr key={price.actionKey}>
                  <th scope="row">
                    <code>{price.actionKey}</code>
                  </th>
                  <td>{price.name}</td>
                  <td class="num">{price.creditsPerUnit}</td>
                  <td>
                    <StatusBadge status={price.status} />
                  </td>
                  <td>{formatInstant(price.updatedAt)}</td>
                  <td class="row-actions">
                    <button type="button" aria-label={`Change ${price.actionKey}`} onClick={() => setEditing(price.actionKey)}>
                      Change
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        ) : (
          !prices.error && <Loading what="prices" />
        )}
      </Section>
      {editing && prices.data ? (
        <EditPrice
          key={editing}
          price={prices.data.items.find((price) => price.actionKey === editing)!}
          onClose={() => setEditing(undefined)}
          onDone={(price) => changed(`${price.actionKey} now costs ${price.creditsPerUnit} credits per unit and is ${price.status}.`)}
        />
      ) : null}
      <CreatePrice onDone={(price) => changed(`Created ${price.actionKey} at ${price.creditsPerUnit} credits per unit.`)} />
    </OperatorShell>
  );
}

/** What a change does to actions after it: the confirmation says it before anything is sent. */
function effectsOf(before: ActionPrice, after: { name: string; creditsPerUnit: number; status: ActionPrice['status'] }): string[] {
  const effects: string[] = [];
  const key = before.actionKey;
  if (after.creditsPerUnit !== before.creditsPerUnit) {
    effects.push(
      `Every ${key} deduct and every new ${key} reservation from now on is charged ${after.creditsPerUnit} credits per unit (now ${before.creditsPerUnit}).`,
      `Reservations already held keep the price they were reserved at; past consumptions keep the price they were charged.`,
    );
  }
  if (after.status !== before.status) {
    effects.push(
      after.status === 'disabled'
        ? `From now on ${key} deducts and reservations are refused with 422 ACTION_DISABLED. Reservations already held still settle.`
        : `${key} can be deducted and reserved again.`,
    );
  }
  if (after.name !== before.name) effects.push(`The action is shown as "${after.name}" (was "${before.name}").`);
  return effects;
}

function EditPrice({ price, onClose, onDone }: { price: ActionPrice; onClose(): void; onDone(price: ActionPrice): void }) {
  const [name, setName] = useState(price.name);
  const [credits, setCredits] = useState(String(price.creditsPerUnit));
  const [status, setStatus] = useState(price.status);
  const [confirming, setConfirming] = useState(false);
  const change = { name, creditsPerUnit: Number(credits), status };
  const save = useAction(
    (key: string) =>
      ok(
        adminApi.PATCH('/v1/admin/action-prices/{actionKey}', {
          params: { path: { actionKey: price.actionKey }, header: { 'Idempotency-Key': key } },
          body: {
            ...(change.name !== price.name ? { name: change.name } : {}),
            ...(change.creditsPerUnit !== price.creditsPerUnit ? { creditsPerUnit: change.creditsPerUnit } : {}),
            ...(change.status !== price.status ? { status: change.status } : {}),
          },
        }),
      ),
    onDone,
  );
  const effects = effectsOf(price, change);
  return (
    <Section title={`Change ${price.actionKey}`}>
      <Form label={`Change ${price.actionKey}`} onSubmit={() => setConfirming(true)}>
        <Field label="Name">
          <input required maxLength={200} value={name} onInput={(event) => setName(valueOf(event))} />
        </Field>
        <Field label="Credits per unit">
          <input type="number" inputMode="numeric" min={0} step={1} required value={credits} onInput={(event) => setCredits(valueOf(event))} />
        </Field>
        <Field label="Status">
          <select value={status} onChange={(event) => setStatus(valueOf(event) as ActionPrice['status'])}>
            <option value="active">active</option>
            <option value="disabled">disabled</option>
          </select>
        </Field>
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={effects.length === 0}>
            Review change
          </button>
        </div>
      </Form>
      <ConfirmDialog
        open={confirming}
        title={`Apply this change to ${price.actionKey}?`}
        confirmLabel="Apply change"
        pending={save.pending}
        error={save.error}
        danger={status === 'disabled' && price.status === 'active'}
        onCancel={() => setConfirming(false)}
        onConfirm={() => void save.run()}
      >
        <ul class="effects">
          {effects.map((effect) => (
            <li key={effect}>{effect}</li>
          ))}
        </ul>
      </ConfirmDialog>
    </Section>
  );
}

function CreatePrice({ onDone }: { onDone(price: ActionPrice): void }) {
  const empty = { actionKey: '', name: '', creditsPerUnit: '1', status: 'active' as ActionPrice['status'] };
  const [form, setForm] = useState(empty);
  const create = useAction(
    (key: string) =>
      ok(
        adminApi.POST('/v1/admin/action-prices', {
          params: { header: { 'Idempotency-Key': key } },
          body: { actionKey: form.actionKey.trim(), name: form.name.trim(), creditsPerUnit: Number(form.creditsPerUnit), status: form.status },
        }),
      ),
    (price) => {
      setForm(empty);
      onDone(price);
    },
  );
  const set = (field: keyof typeof empty) => (event: Event) => setForm({ ...form, [field]: valueOf(event) });
  return (
    <Section title="New action price">
      <Form label="New action price" onSubmit={() => void create.run()}>
        <div class="grid">
          <Field label="Action key" hint="Lower case letters, digits and _; starts with a letter.">
            <input required pattern="[a-z][a-z0-9_]*" maxLength={64} value={form.actionKey} onInput={set('actionKey')} />
          </Field>
          <Field label="Name">
            <input required maxLength={200} value={form.name} onInput={set('name')} />
          </Field>
          <Field label="Credits per unit">
            <input type="number" inputMode="numeric" min={0} step={1} required value={form.creditsPerUnit} onInput={set('creditsPerUnit')} />
          </Field>
          <Field label="Status">
            <select value={form.status} onChange={set('status')}>
              <option value="active">active</option>
              <option value="disabled">disabled</option>
            </select>
          </Field>
        </div>
        <div class="actions">
          <button type="submit" class="primary" disabled={create.pending}>
            Create price
          </button>
        </div>
      </Form>
      <Refusal error={create.error} />
    </Section>
  );
}
