/**
 * Model-based test of a reservation's settling calls and their Idempotency-Keys, through the real stack
 * (API, worker, Temporal dev server, PostgreSQL): random sequences of reserve, commit, release, extend
 * and refund over a small pool of keys, so the same key comes back with the same body (a replay), with
 * another body or on another endpoint (a reused key), and new keys repeat earlier bodies (new requests).
 *
 * The model is what the ledger did: the user's balance, each reservation's status, what it held,
 * committed and refunded, every refund id, and the first answer stored under each key. Every answer is
 * checked against it: a replay must be the first answer byte for byte; a reused key 409
 * IDEMPOTENCY_KEY_REUSED; a new request what the rules say (a second commit or release 409
 * RESERVATION_NOT_HELD, a refund a new refund or 409 REFUND_EXCEEDS_CONSUMPTION, ...). At the end of a
 * run the user's balance from the API, the reservations' rows and the ledger invariant are checked.
 *
 * The concurrent variant also fires batches of calls at once. Their answers must be those of some
 * order of the batch run one by one (the calls are linearizable), with one allowance the one-at-a-time
 * model cannot show: a call whose key another call of the batch holds with another body may be
 * refused as a reused key while that call is under way (its claim is taken first).
 *
 * A refused request stores nothing (the key is free again), so a retry is judged afresh; if the
 * refusal came from the workflow's handler, the Temporal server may instead answer the retry (same
 * key, same body, same update id) with that first refusal. The model accepts either.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { expectLedgerInvariant, grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { postExact, type ExactAnswer } from './support/exact-calls';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

/** Credits the user starts with (ai_chat costs 1 a unit, so credits and units are the same numbers). */
const GRANT = 12;
/** Keys a run draws from: few, so keys come back often (each success keeps its key for good). */
const KEY_POOL = 8;

// ── Steps: what a command asks, before the model names its key and reservation ─────────────────────

type Step =
  | { op: 'reserve'; key: number; quantity: number }
  | { op: 'commit'; key: number; target: number; quantity: number | undefined }
  | { op: 'release'; key: number; target: number }
  | { op: 'extend'; key: number; target: number; holdSeconds: number }
  | { op: 'refund'; key: number; target: number; credits: number | undefined; reason: string }
  /** The same call as an earlier one of the run: same key, same endpoint, same body. */
  | { op: 'repeat'; which: number };

const key = fc.nat({ max: KEY_POOL - 1 });
const target = fc.nat({ max: 7 });
const stepArbitraries: Array<fc.Arbitrary<Step>> = [
  fc.record({ op: fc.constant('reserve' as const), key, quantity: fc.constantFrom(2, 3, 5) }),
  // 6 is more than any hold: COMMIT_EXCEEDS_HOLD.
  fc.record({ op: fc.constant('commit' as const), key, target, quantity: fc.option(fc.constantFrom(1, 2, 6), { nil: undefined }) }),
  fc.record({ op: fc.constant('release' as const), key, target }),
  fc.record({ op: fc.constant('extend' as const), key, target, holdSeconds: fc.constantFrom(600, 900) }),
  fc.record({
    op: fc.constant('refund' as const),
    key,
    target,
    credits: fc.option(fc.constantFrom(1, 2, 4), { nil: undefined }),
    reason: fc.constantFrom('failed', 'timed out'),
  }),
];
const repeatStep: fc.Arbitrary<Step> = fc.record({ op: fc.constant('repeat' as const), which: fc.nat({ max: 30 }) });
const [reserveStep, commitStep, releaseStep, extendStep, refundStep] = stepArbitraries as [fc.Arbitrary<Step>, fc.Arbitrary<Step>, fc.Arbitrary<Step>, fc.Arbitrary<Step>, fc.Arbitrary<Step>];
/** Weighted towards what the keys guard most: commits, refunds and repeats. */
const weightedSteps = [reserveStep, commitStep, commitStep, commitStep, releaseStep, extendStep, refundStep, refundStep, refundStep, refundStep, repeatStep, repeatStep, repeatStep];
const anyStep = fc.oneof(...weightedSteps);

// ── The model ────────────────────────────────────────────────────────────────────────────────────

interface ReservationModel {
  id: string;
  quantity: number;
  status: 'held' | 'committed' | 'released';
  committed: number;
  refunded: number;
}

interface Model {
  userId: string;
  keyPrefix: string;
  reservations: ReservationModel[];
  /** The first successful answer under each key, with the request it answered. */
  answers: Map<string, { identity: string; status: number; text: string }>;
  /** Refusals (status and code) under each key and request: the server may answer a retry with one again. */
  refusals: Map<string, Set<string>>;
  refundIds: Set<string>;
  /** Every call sent so far, for repeats. */
  calls: Request[];
}

const cloneModel = (m: Model): Model => ({
  ...m,
  reservations: m.reservations.map((r) => ({ ...r })),
  answers: new Map(m.answers),
  refusals: new Map([...m.refusals].map(([at, seen]) => [at, new Set(seen)])),
  refundIds: new Set(m.refundIds),
  calls: [...m.calls],
});

/** Spendable credits: the grant less what is held and what is committed and not refunded. */
function availableCredits(m: Model): number {
  return m.reservations.reduce(
    (left, r) => left - (r.status === 'held' ? r.quantity : 0) - (r.status === 'committed' ? r.committed - r.refunded : 0),
    GRANT,
  );
}

interface Request {
  step: Step;
  key: string;
  path: string;
  body: Record<string, unknown>;
  /** What the server fingerprints: the endpoint and its parameters. */
  identity: string;
  reservationId?: string;
}

/** The call a step makes in this model's state, or undefined when it names a reservation and there is none. */
function resolve(m: Model, step: Step): Request | undefined {
  if (step.op === 'repeat') return m.calls.length === 0 ? undefined : m.calls[step.which % m.calls.length];
  const idempotencyKey = `${m.keyPrefix}-${step.key}`;
  if (step.op === 'reserve') {
    const body = { userId: m.userId, actionKey: 'ai_chat', quantity: step.quantity, holdSeconds: 600 };
    return { step, key: idempotencyKey, path: '/v1/internal/reservations', body, identity: `reserve ${JSON.stringify(body)}` };
  }
  if (m.reservations.length === 0) return undefined;
  const reservationId = m.reservations[step.target % m.reservations.length]!.id;
  const body =
    step.op === 'commit'
      ? step.quantity === undefined ? {} : { quantity: step.quantity }
      : step.op === 'release'
        ? {}
        : step.op === 'extend'
          ? { holdSeconds: step.holdSeconds }
          : { ...(step.credits === undefined ? {} : { credits: step.credits }), reason: step.reason };
  return {
    step,
    key: idempotencyKey,
    path: `/v1/internal/reservations/${reservationId}/${step.op}`,
    body,
    identity: `${step.op} ${reservationId} ${JSON.stringify(body)}`,
    reservationId,
  };
}

type Verdict =
  | { kind: 'replay'; status: number; text: string }
  | { kind: 'refused'; status: number; code: string }
  | { kind: 'done'; status: number; check: (body: any) => string | null; apply: (m: Model, body: any) => void };

const refused = (status: number, code: string): Verdict => ({ kind: 'refused', status, code });

/** What the rules say this call answers in this state. */
function judge(m: Model, request: Request): Verdict {
  const { step } = request;
  const reservation = m.reservations.find((r) => r.id === request.reservationId);
  // A refund is refused before its key is looked at when there is no consumption to refund.
  if (step.op === 'refund' && reservation!.status !== 'committed') return refused(409, 'RESERVATION_NOT_HELD');
  const stored = m.answers.get(request.key);
  if (stored) return stored.identity === request.identity ? { kind: 'replay', status: stored.status, text: stored.text } : refused(409, 'IDEMPOTENCY_KEY_REUSED');

  switch (step.op) {
    case 'repeat':
      throw new Error('a repeat resolves to the call it repeats');
    case 'reserve':
      if (availableCredits(m) < step.quantity) return refused(402, 'INSUFFICIENT_CREDITS');
      return {
        kind: 'done',
        status: 201,
        check: (body) => (body.status === 'held' && body.quantity === step.quantity && body.creditsHeld === step.quantity && body.userId === m.userId ? null : 'not the hold asked for'),
        apply: (model, body) => {
          model.reservations.push({ id: body.id, quantity: step.quantity, status: 'held', committed: 0, refunded: 0 });
        },
      };
    case 'commit': {
      if (reservation!.status !== 'held') return refused(409, 'RESERVATION_NOT_HELD');
      const units = step.quantity ?? reservation!.quantity;
      if (units > reservation!.quantity) return refused(422, 'COMMIT_EXCEEDS_HOLD');
      return {
        kind: 'done',
        status: 200,
        check: (body) => (body.reservation?.status === 'committed' && body.consumption?.creditsCost === units ? null : 'not the commit asked for'),
        apply: (model) => {
          const r = model.reservations.find((x) => x.id === reservation!.id)!;
          r.status = 'committed';
          r.committed = units;
        },
      };
    }
    case 'release':
      if (reservation!.status !== 'held') return refused(409, 'RESERVATION_NOT_HELD');
      return {
        kind: 'done',
        status: 200,
        check: (body) => (body.status === 'released' ? null : `status ${body.status}`),
        apply: (model) => {
          model.reservations.find((x) => x.id === reservation!.id)!.status = 'released';
        },
      };
    case 'extend':
      if (reservation!.status !== 'held') return refused(409, 'RESERVATION_NOT_HELD');
      return { kind: 'done', status: 200, check: (body) => (body.status === 'held' ? null : `status ${body.status}`), apply: () => {} };
    case 'refund': {
      const refundable = reservation!.committed - reservation!.refunded;
      const credits = step.credits ?? refundable;
      if (credits < 1 || credits > refundable) return refused(409, 'REFUND_EXCEEDS_CONSUMPTION');
      return {
        kind: 'done',
        status: 201,
        check: (body) =>
          body.credits !== credits
            ? `refunded ${body.credits}, not ${credits}`
            : body.consumptionCreditsRefunded !== reservation!.refunded + credits
              ? `consumption refunded ${body.consumptionCreditsRefunded}, not ${reservation!.refunded + credits}`
              : m.refundIds.has(body.id)
                ? `refund id ${body.id} was answered before: an old refund, not a new one`
                : null,
        apply: (model, body) => {
          model.reservations.find((x) => x.id === reservation!.id)!.refunded += credits;
          model.refundIds.add(body.id);
        },
      };
    }
  }
}

/** Why `answer` is not what `verdict` says (null: it is). */
function mismatch(verdict: Verdict, answer: ExactAnswer): string | null {
  if (verdict.kind === 'replay') {
    return answer.status === verdict.status && answer.text === verdict.text ? null : `expected the first answer again (${verdict.status} ${verdict.text})`;
  }
  if (verdict.kind === 'refused') {
    return answer.status === verdict.status && answer.body?.error?.code === verdict.code ? null : `expected ${verdict.status} ${verdict.code}`;
  }
  if (answer.status !== verdict.status) return `expected ${verdict.status}`;
  return verdict.check(answer.body);
}

/**
 * Applies one answered call to the model if the answer is one the rules allow; returns why not.
 * `mayBeBusy`: another call of the same batch held this key with another body.
 */
function take(m: Model, request: Request, answer: ExactAnswer, mayBeBusy = false): string | null {
  const code = answer.body?.error?.code as string | undefined;
  if (mayBeBusy && answer.status === 409 && code === 'IDEMPOTENCY_KEY_REUSED') return null;
  const verdict = judge(m, request);
  const problem = mismatch(verdict, answer);
  const refusalKey = `${request.key}\n${request.identity}`;
  if (problem) {
    // Still refused, for a reason it was refused for before under this key and request.
    const sameRefusalAgain = verdict.kind === 'refused' && m.refusals.get(refusalKey)?.has(`${answer.status} ${code}`);
    return sameRefusalAgain ? null : problem;
  }
  if (verdict.kind === 'done') {
    verdict.apply(m, answer.body);
    m.answers.set(request.key, { identity: request.identity, status: answer.status, text: answer.text });
  } else if (verdict.kind === 'refused' && request.step.op !== 'reserve') {
    m.refusals.set(refusalKey, new Set([...(m.refusals.get(refusalKey) ?? []), `${answer.status} ${verdict.code}`]));
  }
  return null;
}

const send = (request: Request) => postExact(stack, request.path, request.body, request.key);

const describeCall = (request: Request, answer: ExactAnswer) => `${request.step.op} key ${request.key} ${JSON.stringify(request.body)} -> ${answer.status} ${answer.text}`;

// ── Commands ─────────────────────────────────────────────────────────────────────────────────────

type Real = Record<string, never>;

class OneCall implements fc.AsyncCommand<Model, Real> {
  constructor(readonly step: Step) {}
  check(m: Readonly<Model>): boolean {
    return resolve(m as Model, this.step) !== undefined;
  }
  async run(m: Model): Promise<void> {
    const request = resolve(m, this.step)!;
    const answer = await send(request);
    m.calls.push(request);
    const problem = take(m, request, answer);
    if (problem) throw new Error(`${describeCall(request, answer)}: ${problem}`);
  }
  toString(): string {
    return JSON.stringify(this.step);
  }
}

class AtOnce implements fc.AsyncCommand<Model, Real> {
  constructor(readonly steps: Step[]) {}
  check(m: Readonly<Model>): boolean {
    return this.steps.filter((step) => resolve(m as Model, step)).length >= 2;
  }
  async run(m: Model): Promise<void> {
    const requests = this.steps.map((step) => resolve(m, step)).filter((r): r is Request => r !== undefined);
    const answers = await Promise.all(requests.map(send));
    const mayBeBusy = requests.map((r) => requests.some((other) => other !== r && other.key === r.key && other.identity !== r.identity));
    for (const order of permutations(requests.length)) {
      const trial = cloneModel(m);
      if (order.every((i) => take(trial, requests[i]!, answers[i]!, mayBeBusy[i]) === null)) {
        trial.calls.push(...requests);
        Object.assign(m, trial);
        return;
      }
    }
    throw new Error(`no order of these calls answers this:\n${requests.map((r, i) => describeCall(r, answers[i]!)).join('\n')}`);
  }
  toString(): string {
    return `atOnce(${this.steps.map((s) => JSON.stringify(s)).join(', ')})`;
  }
}

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((rest) => Array.from({ length: n }, (_, at) => [...rest.slice(0, at), n - 1, ...rest.slice(at)]));
}

// ── Runs ─────────────────────────────────────────────────────────────────────────────────────────

/** A user with GRANT credits and one reservation of 5 held (under a key outside the pool), so settling calls have a target from the start. */
async function newModel(): Promise<Model> {
  const userId = newUserId('keys-model');
  await grantCredits(stack.db, userId, GRANT);
  const held = await postExact(stack, '/v1/internal/reservations', { userId, actionKey: 'ai_chat', quantity: 5, holdSeconds: 600 }, randomUUID());
  expect(held.status).toBe(201);
  const reservations: ReservationModel[] = [{ id: held.body.id, quantity: 5, status: 'held', committed: 0, refunded: 0 }];
  return { userId, keyPrefix: `model-${randomUUID()}`, reservations, answers: new Map(), refusals: new Map(), refundIds: new Set(), calls: [] };
}

/** After a run: the user's balance from the API, every reservation's row and the ledger, as the model says. */
async function expectLedgerAsModel(m: Model): Promise<void> {
  const credits = await stack.call('GET', '/v1/me/credits', { as: { user: m.userId } });
  expect(credits.status).toBe(200);
  expect(credits.body.availableCredits).toBe(availableCredits(m));
  const rows = await stack.db.reservation.findMany({ where: { userId: m.userId }, include: { consumption: true } });
  const fromRows = rows
    .map((r) => ({ id: r.id, status: r.status, committed: r.consumption?.creditsCost ?? 0, refunded: r.consumption?.creditsRefunded ?? 0 }))
    .sort((a, b) => a.id.localeCompare(b.id));
  const fromModel = m.reservations.map((r) => ({ id: r.id, status: r.status, committed: r.committed, refunded: r.refunded })).sort((a, b) => a.id.localeCompare(b.id));
  expect(fromRows).toEqual(fromModel);
  expect(await stack.db.consumptionRefund.count({ where: { consumption: { userId: m.userId } } })).toBe(m.refundIds.size);
  await expectLedgerInvariant(stack.db, m.userId);
}

async function runAgainstModel(commands: Iterable<fc.AsyncCommand<Model, Real>>): Promise<void> {
  const model = await newModel();
  await fc.asyncModelRun(() => ({ model, real: {} }), commands);
  await expectLedgerAsModel(model);
}

/** Bounded for a loaded 2-core machine: a run that started finishes, no run starts after the limit. */
const BOUNDS = { interruptAfterTimeLimit: 30_000, markInterruptAsFailure: false } as const;

describe('reservation calls and their Idempotency-Keys, against a model of the ledger', () => {
  it('one call at a time', async () => {
    const commands = fc.commands(
      weightedSteps.map((arbitrary) => arbitrary.map((step) => new OneCall(step))),
      { maxCommands: 25, size: 'max' },
    );
    await fc.assert(fc.asyncProperty(commands, runAgainstModel), { numRuns: 12, ...BOUNDS });
  }, 90_000);

  it('calls fired at once', async () => {
    const commands = fc.commands(
      [
        ...weightedSteps.map((arbitrary) => arbitrary.map((step) => new OneCall(step))),
        ...Array.from({ length: 6 }, () => fc.array(anyStep, { minLength: 2, maxLength: 4 }).map((steps) => new AtOnce(steps))),
      ],
      { maxCommands: 15, size: 'max' },
    );
    await fc.assert(fc.asyncProperty(commands, runAgainstModel), { numRuns: 12, ...BOUNDS });
  }, 90_000);
});
