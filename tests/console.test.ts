/**
 * The console in a real browser: Debian's Chromium driven by playwright-core, against the real stack
 * (PostgreSQL, Temporal, a worker) whose API serves a console built for this run. The operator's main
 * paths (sign in, create and reprice an action, assign a package, mark an order paid and refund it,
 * replay a webhook delivery, read the consumption chart and export it) and the user's (credits, history
 * with filters and paging, notification settings, invoices and credit notes as PDFs), each checked
 * against the API's own state.
 *
 * Screenshots of every page go to test-artifacts/console/ (git-ignored); docs/images/ keeps two of them.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../api/app';
import { relayOnce } from '../modules/events/relay';
import { createLogger } from '../platform/logger';
import { CHROMIUM_PATH } from '../scripts/chromium';
import { buildConsole } from '../scripts/console-build';
import { orderWorkflowId } from '../workflows/order-contract';
import { ADMIN_KEY, grantCredits, newUserId, startStack, userToken, type TestStack } from './support/stack';
import { waitForOrder } from './support/orders';
import { waitFor } from './support/wait';
import { startReceiver, type Receiver } from './support/webhook-receiver';

const CHROMIUM = CHROMIUM_PATH;
const SCREENSHOTS = path.join(__dirname, '..', 'test-artifacts', 'console');
const TEMPORAL_UI = 'http://127.0.0.1:8233';

let stack: TestStack;
let receiver: Receiver;
let browser: Browser;
let operator: BrowserContext;
let page: Page;
let assetsDir: string;
/** Every write the pages sent, to check that each carried an Idempotency-Key. */
const writes: Request[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: \`npm run setup\` installs Debian's (or set CHROMIUM_PATH).`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  const [built] = await Promise.all([buildConsole({ outDir: mkdtempSync(path.join(tmpdir(), 'console-build-')) }), (async () => (receiver = await startReceiver()))()]);
  assetsDir = built;
  stack = await startStack({ console: { assetsDir, temporalUiUrl: TEMPORAL_UI, temporalNamespace: 'default' } });
  browser = await chromium.launch({ executablePath: CHROMIUM });
  operator = await newContext({ width: 1280, height: 900 });
  page = await operator.newPage();
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await receiver?.close();
  if (assetsDir) rmSync(assetsDir, { recursive: true, force: true });
});

async function newContext(viewport: { width: number; height: number }): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport, acceptDownloads: true, locale: 'en-US', timezoneId: 'UTC' });
  context.setDefaultTimeout(30_000);
  context.on('request', (request) => {
    if (['POST', 'PATCH', 'DELETE'].includes(request.method()) && new URL(request.url()).pathname.startsWith('/v1/')) writes.push(request);
  });
  return context;
}

it('an operator signs in with the admin key; a wrong key gets the API\'s refusal', async () => {
  await page.goto(`${stack.baseUrl}/console`);
  await page.getByLabel('Admin key').fill('not-the-admin-key-0123456789');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'UNAUTHENTICATED' }).waitFor();
  expect(await page.getByRole('alert').textContent()).toContain('The credential is not valid.');

  await signIn(page);
  await page.getByRole('table', { name: 'Action prices' }).getByRole('cell', { name: 'AI chat message' }).waitFor();
  // The key lives in memory only: nothing in the page's storage.
  expect(await page.evaluate('[localStorage.length, sessionStorage.length, document.cookie]')).toEqual([0, 0, '']);
});

it('creates an action price (a retry after a lost answer reuses the key and creates one), then reprices it after a confirmation', async () => {
  const actionKey = `console_${randomUUID().slice(0, 8).replace(/-/g, '')}`;
  const form = page.getByRole('form', { name: 'New action price' });
  // A refusal is shown as the API said it.
  await form.getByLabel('Action key').fill('ai_chat');
  await form.getByLabel('Name').fill('Taken');
  await form.getByRole('button', { name: 'Create price' }).click();
  await page.getByRole('alert').filter({ hasText: 'ALREADY_EXISTS (409)' }).waitFor();
  await form.getByLabel('Action key').fill(actionKey);
  await form.getByLabel('Name').fill('Console test action');
  await form.getByLabel('Credits per unit').fill('4');

  // The first answer is lost on the way back (the API did create the price): the page shows the failure.
  const sent: Request[] = [];
  await page.route('**/v1/admin/action-prices', async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    sent.push(route.request());
    if (sent.length === 1) {
      await route.fetch();
      return route.abort('connectionreset');
    }
    return route.continue();
  });
  await form.getByRole('button', { name: 'Create price' }).click();
  await page.getByRole('alert').filter({ hasText: 'NETWORK' }).waitFor();
  // The operator tries again: same intended change, same key; the API replays its first answer.
  await form.getByRole('button', { name: 'Create price' }).click();
  await page.getByRole('status').filter({ hasText: `Created ${actionKey} at 4 credits per unit.` }).waitFor();
  await page.unroute('**/v1/admin/action-prices');
  expect(sent).toHaveLength(2);
  expect(sent[1]!.headers()['idempotency-key']).toBe(sent[0]!.headers()['idempotency-key']);
  expect(await stack.db.actionPrice.count({ where: { actionKey } })).toBe(1);

  await page.getByRole('button', { name: `Change ${actionKey}` }).click();
  const change = page.getByRole('form', { name: `Change ${actionKey}` });
  await change.getByLabel('Credits per unit').fill('6');
  await change.getByRole('button', { name: 'Review change' }).click();
  const dialog = page.getByRole('dialog', { name: `Apply this change to ${actionKey}?` });
  expect(await dialog.textContent()).toContain(`Every ${actionKey} deduct and every new ${actionKey} reservation from now on is charged 6 credits per unit (now 4).`);
  await screenshot(page, 'action-price-confirmation');
  await dialog.getByRole('button', { name: 'Apply change' }).click();
  await page.getByRole('status').filter({ hasText: `${actionKey} now costs 6 credits per unit` }).waitFor();
  expect((await stack.db.actionPrice.findUniqueOrThrow({ where: { actionKey } })).creditsPerUnit).toBe(6);
  await screenshot(page, 'action-prices');
});

it('assigns a package to a user found by id, moves its expiry and revokes it; the balance and the grant show each change', async () => {
  const userId = newUserId('console-assign');
  await openUser(page, userId);
  expect(await page.getByTestId('user-balance').textContent()).toBe('0');

  const form = page.getByRole('form', { name: 'Assign a package' });
  await form.getByLabel('Package').selectOption('monthly_membership');
  await form.getByLabel('Note').fill('console test');
  await form.getByRole('button', { name: 'Assign package' }).click();
  await page.getByRole('status').filter({ hasText: 'Assigned 100 credits' }).waitFor();
  await waitFor(async () => (await page.getByTestId('user-balance').textContent()) === '100', 30_000, 'the balance of 100');
  const grants = await stack.db.userPackage.findMany({ where: { userId } });
  expect(grants.map((grant) => [grant.status, grant.totalCredits])).toEqual([['active', 100]]);
  expect(await page.getByRole('table', { name: `Grants of ${userId}` }).textContent()).toContain('Monthly membership');
  await screenshot(page, 'user');

  const later = new Date(Date.now() + 60 * 86_400_000);
  later.setUTCSeconds(0, 0);
  await page.getByRole('button', { name: 'Move the expiry of Monthly membership' }).click();
  const move = page.getByRole('form', { name: 'Move the expiry' });
  await move.getByLabel('New expiry').fill(later.toISOString().slice(0, 16)); // the browser runs in UTC
  await move.getByLabel('Reason').fill('goodwill');
  await move.getByRole('button', { name: 'Move expiry' }).click();
  await page.getByRole('status').filter({ hasText: 'The grant now expires' }).waitFor();
  expect((await stack.db.userPackage.findFirstOrThrow({ where: { userId } })).expiresAt).toEqual(later);

  await page.getByRole('button', { name: 'Revoke Monthly membership' }).click();
  const revoke = page.getByRole('dialog', { name: 'Revoke this grant?' });
  await revoke.getByLabel('Reason').fill('chargeback');
  await revoke.getByRole('button', { name: 'Revoke grant' }).click();
  await page.getByRole('status').filter({ hasText: 'The grant was revoked' }).waitFor();
  await waitFor(async () => (await page.getByTestId('user-balance').textContent()) === '0', 30_000, 'the balance of 0');
  expect((await stack.db.userPackage.findFirstOrThrow({ where: { userId } })).status).toBe('revoked');
});

it('marks a bank-transfer order paid, refunds part of it, and links the order to its run in the Temporal UI', async () => {
  const userId = newUserId('console-order');
  const placed = await stack.call('POST', '/v1/internal/orders', { body: { userId, packageCode: 'monthly_membership', channel: 'manual' } });
  expect(placed.status).toBe(201);
  const orderId: string = placed.body.id;

  await page.getByRole('link', { name: 'Orders', exact: true }).click();
  const filters = page.getByRole('form', { name: 'Filter orders' });
  await filters.getByLabel('User id').fill(userId);
  await filters.getByLabel('Status').selectOption('pending_payment');
  await filters.getByRole('button', { name: 'Show orders' }).click();
  await page.getByRole('link', { name: `order ${orderId}` }).waitFor();
  await screenshot(page, 'orders');
  await page.getByRole('link', { name: `order ${orderId}` }).click();
  expect(await page.getByTestId('temporal-link').getAttribute('href')).toBe(`${TEMPORAL_UI}/namespaces/default/workflows/${orderWorkflowId(orderId)}`);

  await page.getByRole('button', { name: 'Mark paid' }).click();
  const markPaid = page.getByRole('dialog', { name: 'Mark this order paid?' });
  await markPaid.getByLabel('Reason').fill('bank transfer ref 118');
  await markPaid.getByRole('button', { name: 'Mark paid' }).click();
  await waitForOrder(stack, orderId, ['completed']);
  // The page polls while the workflow provisions, and shows where it ended.
  await page.locator('.facts .badge-completed').waitFor();

  await page.getByRole('button', { name: 'Refund' }).click();
  const refund = page.getByRole('dialog', { name: 'Refund this order?' });
  await refund.getByLabel('Amount in minor units').fill('250');
  await refund.getByLabel('Reason').fill('outage');
  await refund.getByRole('button', { name: 'Refund $2.50' }).click();
  await page.getByRole('table', { name: 'Refunds of this order' }).getByText('succeeded').waitFor();
  await waitForOrder(stack, orderId, ['partially_refunded']);
  const refunds = await stack.call('GET', `/v1/admin/orders/${orderId}/refunds`, { as: 'admin' });
  expect(refunds.body.items.map((item: { amountMinor: number; reason: string }) => [item.amountMinor, item.reason])).toEqual([[250, 'outage']]);
  await page.locator('.facts .badge-partially_refunded').waitFor();
  await screenshot(page, 'order');
});

it('registers a webhook endpoint, sends it a test event and replays the delivery', async () => {
  const hookPath = `/console-${randomUUID()}`;
  await page.getByRole('link', { name: 'Webhooks' }).click();
  const form = page.getByRole('form', { name: 'New webhook endpoint' });
  await form.getByLabel('URL').fill(receiver.url(hookPath));
  await form.getByLabel('webhook.test').check();
  await form.getByRole('button', { name: 'Register endpoint' }).click();
  await page.getByText('Signing secret of').waitFor();
  expect(await page.locator('code.secret').textContent()).toMatch(/^whsec_/);

  const tested = page.waitForResponse((response) => response.url().endsWith('/test') && response.request().method() === 'POST');
  await page.getByRole('button', { name: `Send a test event to ${receiver.url(hookPath)}` }).click();
  const event = await (await tested).json();
  await relayOnce({
    db: stack.db,
    temporal: stack.temporal,
    taskQueue: stack.taskQueue,
    config: { EVENTS_RELAY_BATCH_SIZE: 10, EVENTS_RELAY_INTERVAL_MS: 100, WEBHOOK_RETRY_SCHEDULE_MS: [0, 400] },
    only: { id: event.id },
  });
  await waitFor(() => receiver.forPath(hookPath).length === 1, 60_000, 'the first delivery');
  const delivery = await waitFor(() => stack.db.webhookDelivery.findFirst({ where: { eventId: event.id, status: 'delivered' } }), 60_000, 'a delivered delivery');

  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.getByRole('button', { name: `Replay delivery ${delivery.id}` }).click();
  await page.getByRole('status').filter({ hasText: `Delivery ${delivery.id.slice(0, 8)} (webhook.test) sent again` }).waitFor();
  await waitFor(() => receiver.forPath(hookPath).length === 2, 60_000, 'the replayed delivery');
  const [first, again] = receiver.forPath(hookPath);
  expect(again!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
  await screenshot(page, 'webhooks');
});

it('charts seeded consumptions by day and by action over the chosen period, and exports them as CSV', async () => {
  const userId = newUserId('console-report');
  await grantCredits(stack.db, userId, 100);
  // Three days of this user's consumption (moved back in time after the deducts), one of them partly refunded.
  const day = (daysBack: number) => new Date(Date.now() - daysBack * 86_400_000).toISOString().slice(0, 10);
  let refundedId = '';
  for (const [actionKey, quantity, daysBack] of [['ai_chat', 4, 2], ['advanced_analysis', 1, 1], ['ai_chat', 3, 0]] as const) {
    const deducted = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey, quantity } });
    expect(deducted.status).toBe(201);
    await stack.db.$executeRaw`UPDATE consumption_records SET created_at = created_at - make_interval(days => ${daysBack}::int) WHERE id = ${deducted.body.id}::uuid`;
    refundedId = deducted.body.id;
  }
  expect((await stack.call('POST', `/v1/internal/consumptions/${refundedId}/refund`, { body: { credits: 1, reason: 'console test' } })).status).toBe(201);

  await page.getByRole('link', { name: 'Consumption' }).click();
  const period = page.getByRole('form', { name: 'Consumption period' });
  await period.getByLabel('User id').fill(userId);
  await period.getByRole('button', { name: 'Show report' }).click();
  const byAction = page.getByRole('table', { name: 'Credits by action (table)' });
  const expectedByAction = [
    ['advanced_analysis', '3', '0'],
    ['ai_chat', '7', '1'],
  ];
  // The page shows every user's consumption until the filtered answer arrives: wait for this user's rows
  // (other test files write consumptions too), then assert them.
  const sameRows = async () => JSON.stringify(await tableRows(byAction)) === JSON.stringify(expectedByAction);
  await waitFor(sameRows, 60_000, "the report filtered to the user").catch(() => undefined);
  expect(await tableRows(byAction)).toEqual(expectedByAction);
  const byDay = await tableRows(page.getByRole('table', { name: 'Credits by day (table)' }));
  expect(byDay).toHaveLength(30);
  expect(byDay.filter(([, charged, refunded]) => charged !== '0' || refunded !== '0')).toEqual([
    [day(2), '4', '0'],
    [day(1), '3', '0'],
    [day(0), '3', '1'],
  ]);
  expect(await page.locator('canvas[role="img"]').first().getAttribute('aria-label')).toContain('Credits charged 10, Credits refunded 1 over 30 days');
  await screenshot(page, 'consumption');

  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download CSV' }).click();
  const csv = readFileSync((await (await downloading).path())!, 'utf8');
  const lines = csv.trim().split(/\r\n/);
  expect(lines.slice(1).map((line) => line.includes(userId))).toEqual([true, true, true]);
});

it('every operator page opens without a refusal, each control has a label, and every write carried an Idempotency-Key', async () => {
  for (const [link, heading, name] of [
    ['Packages', 'Packages', 'packages'],
    ['Reconciliation', 'Reconciliation', 'reconciliation'],
    ['Schedules', 'Schedules', 'schedules'],
    ['Users', 'Users', 'users'],
  ] as const) {
    await page.getByRole('link', { name: link, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await page.waitForLoadState('networkidle');
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, name);
  }
  // A package's prices by currency come from a public route, read with the admin key.
  await page.getByRole('link', { name: 'Packages', exact: true }).click();
  await page.getByRole('button', { name: 'Prices of monthly_membership' }).click();
  await page.getByRole('form', { name: 'Prices of monthly_membership' }).waitFor();
  expect(await page.getByRole('alert').count()).toBe(0);
  expect(writes.length).toBeGreaterThan(8);
  expect(writes.filter((request) => !request.headers()['idempotency-key']).map((request) => `${request.method()} ${request.url()}`)).toEqual([]);
});

it('a user sees their credits, filters the history by action and date, pages through it, and saves notification settings (on a phone)', async () => {
  const userId = newUserId('console-me');
  await grantCredits(stack.db, userId, 100);
  for (let n = 0; n < 25; n++) expect((await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' } })).status).toBe(201);
  expect((await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'pdf_export' } })).status).toBe(201);

  const phone = await newContext({ width: 390, height: 844 });
  const me = await phone.newPage();
  await me.goto(`${stack.baseUrl}/console/me#token=${await userToken(userId)}`);
  await me.getByTestId('available-credits').waitFor();
  // The token is taken out of the address bar (and the history) as soon as the page has it.
  expect(new URL(me.url()).hash).toBe('');
  expect(await me.getByTestId('available-credits').textContent()).toBe('74');
  await screenshot(me, 'me');

  const history = me.getByRole('table', { name: 'My consumption history' });
  await history.waitFor();
  expect(await tableRows(history)).toHaveLength(20);
  await me.getByRole('button', { name: 'Next page' }).click();
  await waitFor(async () => (await tableRows(history)).length === 6, 30_000, 'the second page');
  await me.getByRole('button', { name: 'Previous page' }).click();
  await waitFor(async () => (await tableRows(history)).length === 20, 30_000, 'the first page again');

  const filters = me.getByRole('form', { name: 'Filter the history' });
  await filters.getByLabel('Action').selectOption('pdf_export');
  await filters.getByRole('button', { name: 'Filter' }).click();
  await waitFor(async () => (await tableRows(history)).length === 1, 30_000, 'the one pdf_export');
  expect((await tableRows(history))[0]!.slice(1)).toEqual(['PDF export', '1', '—', '1']);
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  await filters.getByLabel('To').fill(yesterday);
  await filters.getByRole('button', { name: 'Filter' }).click();
  await me.getByText('No consumption matches these filters.').waitFor();

  const settings = me.getByRole('form', { name: 'Notification settings' });
  await settings.getByLabel('Email address').fill('me@example.com');
  await settings.getByLabel('A package expired').uncheck();
  await settings.getByRole('button', { name: 'Save settings' }).click();
  await settings.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  const saved = await stack.call('GET', '/v1/me/notification-settings', { as: { user: userId } });
  expect(saved.body).toEqual({ email: 'me@example.com', emailOptOut: ['package.expired'] });
  expect(await unlabelledControls(me)).toEqual([]);
  await screenshot(me, 'me-settings', { fullPage: true });
  await phone.close();
});

it('a user with a paid order and a partial refund sees the invoice and the credit note and downloads each as a PDF', async () => {
  const userId = newUserId('console-invoice');
  const placed = await stack.call('POST', '/v1/internal/orders', { body: { userId, packageCode: 'monthly_membership', channel: 'manual' } });
  expect(placed.status).toBe(201);
  const orderId: string = placed.body.id;
  expect((await stack.call('POST', `/v1/admin/orders/${orderId}/mark-paid`, { as: 'admin', body: { reason: 'bank transfer ref 204' } })).status).toBe(202);
  await waitForOrder(stack, orderId, ['completed']);
  expect((await stack.call('POST', `/v1/admin/orders/${orderId}/refund`, { as: 'admin', body: { amountMinor: 250, reason: 'outage' } })).status).toBe(202);
  const note = await waitFor(async () => (await stack.call('GET', '/v1/me/credit-notes', { as: { user: userId } })).body.items[0], 60_000, 'the credit note');
  const invoice = (await stack.call('GET', '/v1/me/invoices', { as: { user: userId } })).body.items[0];
  expect([invoice.orderId, invoice.status, note.invoiceNumber]).toEqual([orderId, 'partially_credited', invoice.number]);

  const phone = await newContext({ width: 390, height: 844 });
  const me = await phone.newPage();
  await me.goto(`${stack.baseUrl}/console/me#token=${await userToken(userId)}`);
  const invoices = me.getByRole('table', { name: 'My invoices' });
  await invoices.getByRole('rowheader', { name: invoice.number }).waitFor();
  expect(await tableRows(invoices)).toEqual([[invoice.number, expect.any(String), '$9.99', 'partially credited', 'PDF']]);
  const notes = me.getByRole('table', { name: 'My credit notes' });
  expect(await tableRows(notes)).toEqual([[note.number, expect.any(String), invoice.number, '$2.50', 'PDF']]);
  await screenshot(me, 'me-invoices', { fullPage: true });

  // The PDF route needs the token in a header: the page fetches it and hands it over as a file.
  for (const [name, number] of [[`Download invoice ${invoice.number} as PDF`, invoice.number], [`Download credit note ${note.number} as PDF`, note.number]]) {
    const downloading = me.waitForEvent('download');
    await me.getByRole('button', { name }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe(`${number}.pdf`);
    expect(readFileSync((await download.path())!).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  }
  expect(await me.getByRole('alert').count()).toBe(0);
  expect(await unlabelledControls(me)).toEqual([]);
  await phone.close();
});

it('serves the page for every console path, its hashed files for a year, a missing file as a 404, and says when the console is not built', async () => {
  const page = await fetch(`${stack.baseUrl}/console/users/user-42`);
  expect([page.status, page.headers.get('content-type'), page.headers.get('cache-control')]).toEqual([200, 'text/html; charset=utf-8', 'no-cache']);
  const html = await page.text();
  const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)![1]!;
  const asset = await fetch(`${stack.baseUrl}${script}`);
  expect([asset.status, asset.headers.get('cache-control')]).toEqual([200, 'public, max-age=31536000, immutable']);
  const missing = await fetch(`${stack.baseUrl}/console/assets/nothing-here.js`);
  expect([missing.status, ((await missing.json()) as { error: { code: string } }).error.code]).toEqual([404, 'NOT_FOUND']);
  expect(await (await fetch(`${stack.baseUrl}/console/config.json`)).json()).toEqual({ temporalUiUrl: TEMPORAL_UI, temporalNamespace: 'default' });

  const unbuilt = createApp(stack.deps, createLogger('test', 'silent'), { console: { assetsDir: path.join(assetsDir, 'not-built'), temporalUiUrl: null, temporalNamespace: 'default' } });
  const server = await new Promise<Server>((resolve) => {
    const listening = unbuilt.listen(0, '127.0.0.1', () => resolve(listening));
  });
  try {
    const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/console`);
    expect([answer.status, ((await answer.json()) as { error: unknown }).error]).toEqual([404, { code: 'NOT_FOUND', message: 'The console is not built: run `npm run console:build`.' }]);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

async function signIn(on: Page): Promise<void> {
  await on.getByLabel('Admin key').fill(ADMIN_KEY);
  await on.getByRole('button', { name: 'Sign in' }).click();
  await on.getByRole('heading', { level: 1, name: 'Action prices' }).waitFor();
}

/** In-app navigation (the key is in the page's memory: a reload would sign out). */
async function openUser(on: Page, userId: string): Promise<void> {
  await on.getByRole('link', { name: 'Users', exact: true }).click();
  await on.getByLabel('User id').fill(userId);
  await on.getByRole('button', { name: 'Open user' }).click();
  await on.getByRole('heading', { level: 1, name: `User ${userId}` }).waitFor();
  await on.getByTestId('user-balance').waitFor();
}

// The functions below run in the page; the tests' TypeScript has no DOM types, so they are typed loosely.

async function tableRows(table: ReturnType<Page['getByRole']>): Promise<string[][]> {
  return table.locator('tbody tr').evaluateAll((rows: { children: ArrayLike<{ textContent: string | null }> }[]) =>
    rows.map((row) => Array.from(row.children, (cell) => (cell.textContent ?? '').trim())),
  );
}

/** Inputs, selects and buttons a screen reader could not name (no label, no aria-label, no text). */
function unlabelledControls(on: Page): Promise<string[]> {
  return on.evaluate(`Array.from(document.querySelectorAll('input, select, button'))
    .filter((control) => control.labels.length === 0 && !control.getAttribute('aria-label') && !(control.tagName === 'BUTTON' && control.textContent.trim()))
    .map((control) => control.outerHTML.slice(0, 120))`);
}

async function screenshot(on: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  await on.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: options.fullPage ?? true });
}
