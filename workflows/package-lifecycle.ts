import {
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { LifecycleActivities } from '../activities/lifecycle';
import { DEFAULT_REMINDER_LEAD_DAYS, nextStep } from '../modules/lifecycle/rules/lifecycle';
import { ExpiresAtKey, PackageStatusKey } from './search-attributes';
import {
  expiryChangedSignal,
  lifecycleStateQuery,
  revokedSignal,
  type LifecycleState,
  type LifecycleSubjectType,
  type LifecycleWorkflowInput,
  type ScheduledJobInput,
  type SubjectSnapshot,
} from './package-lifecycle-contract';

/** Each step is one short transaction; retried until it gets through (the database is the record). */
const stepOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2 },
} as const;
const activities = proxyActivities<LifecycleActivities>(stepOptions);
/**
 * The same steps as local activities: each runs inside the workflow task that needs it, so a wake-up
 * is one workflow task instead of a workflow task, an activity task and another workflow task (6
 * fewer history events and two fewer task dispatches on the server per step, which is what a burst
 * of expiries waits on). Every step is idempotent and re-reads the database, as a local activity
 * re-run after a worker crash needs.
 */
const localSteps = proxyLocalActivities<LifecycleActivities>(stepOptions);
/**
 * Runs started before the steps became local activities scheduled them as activities, and must
 * replay as they ran: they take the activities until their history has this patch's marker.
 */
const LOCAL_STEPS_PATCH = 'lifecycle-steps-as-local-activities';
const stepsOf = (input: LifecycleWorkflowInput): typeof activities => (startedWithSnapshot(input) || patched(LOCAL_STEPS_PATCH) ? localSteps : activities);
/**
 * Runs started with their subject's snapshot were started by code that already had both patches of
 * this file, so they take the patched behaviour without asking (no marker, and no change-version search
 * attribute to upsert, in their first workflow task). Whether a run has a snapshot is in its input, so
 * replay answers the same.
 */
const startedWithSnapshot = (input: LifecycleWorkflowInput): boolean => input.snapshot !== undefined;
/**
 * Runs before this patch cleared the "changed" flag before every wait, which dropped a signal that
 * arrived while a step ran (the step's snapshot predated the change, so the timer kept the old
 * expiry). They replay as they ran; runs with the marker clear it only when they re-read.
 */
const SIGNAL_KEPT_PATCH = 'lifecycle-signal-during-step-kept';

/** Scheduled jobs scan whole tables: a longer timeout, a few attempts, then the next run catches up. */
const jobs = proxyActivities<LifecycleActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 3 },
});

/** One user package's timer: activation at starts_at, reminders, expiry at expires_at. */
export async function packageLifecycleWorkflow(input: LifecycleWorkflowInput): Promise<LifecycleState> {
  return lifecycleTimer('user_package', input);
}

/** One subscription's timer: reminders before the period ends, lapse at its end unless renewed. */
export async function subscriptionLifecycleWorkflow(input: LifecycleWorkflowInput): Promise<LifecycleState> {
  return lifecycleTimer('subscription', input);
}

/**
 * The shared timer. The database is the record and the workflow only a clock: every wake-up runs an
 * activity that re-reads the subject and acts only if the database agrees (a lost signal, an expiry
 * moved elsewhere, a revocation: the activity answers the current snapshot and the timer re-plans).
 */
async function lifecycleTimer(subjectType: LifecycleSubjectType, input: LifecycleWorkflowInput): Promise<LifecycleState> {
  const leadDays = input.reminderLeadDays ?? [...DEFAULT_REMINDER_LEAD_DAYS];
  const maxHistoryEvents = input.maxHistoryEvents ?? 2000;
  const keepsSignalsDuringSteps = startedWithSnapshot(input) || patched(SIGNAL_KEPT_PATCH);
  const steps = (): typeof activities => stepsOf(input);
  let changed = false;
  let revoked: string | null = null;

  const load = (): Promise<SubjectSnapshot | null> =>
    subjectType === 'user_package' ? steps().loadPackageSnapshot(input.subjectId) : steps().loadSubscriptionSnapshot(input.subjectId);

  let state: LifecycleState;
  if (input.state) {
    state = { ...input.state, run: input.state.run + 1 };
  } else {
    // A run started with its subject's snapshot plans from it: no read, so the first workflow task is
    // the timer alone. Without one (runs started before snapshots were passed) it reads the subject.
    const snapshot = input.snapshot ?? (await load());
    state = {
      subjectType,
      subjectId: input.subjectId,
      userId: input.userId,
      phase: snapshot?.phase ?? 'gone',
      startsAt: snapshot?.startsAt ?? new Date(0).toISOString(),
      expiresAt: snapshot?.expiresAt ?? null,
      plannedFrom: new Date(Date.now()).toISOString(),
      remindersSent: [],
      next: null,
      expiryChanges: 0,
      run: 1,
    };
  }
  setHandler(lifecycleStateQuery, () => state);
  setHandler(expiryChangedSignal, () => {
    changed = true;
    state.expiryChanges++;
  });
  setHandler(revokedSignal, ({ reason }) => void (revoked = reason));

  const apply = (snapshot: SubjectSnapshot | null): void => {
    const expiryMoved = (snapshot?.expiresAt ?? null) !== state.expiresAt;
    if (expiryMoved) {
      state.plannedFrom = new Date(Date.now()).toISOString();
      state.remindersSent = [];
    }
    state.phase = snapshot?.phase ?? 'gone';
    state.startsAt = snapshot?.startsAt ?? state.startsAt;
    state.expiresAt = snapshot?.expiresAt ?? null;
    publish();
  };
  const publishedKey = (): string => `${state.phase}|${state.expiresAt}`;
  // The starter of a run with a snapshot set that snapshot's search attributes: nothing to publish yet.
  let published = input.snapshot && !input.state ? publishedKey() : '';
  const publish = (): void => {
    const key = publishedKey();
    if (key === published) return;
    published = key;
    upsertSearchAttributes([
      { key: PackageStatusKey, value: state.phase },
      state.expiresAt ? { key: ExpiresAtKey, value: new Date(state.expiresAt) } : { key: ExpiresAtKey, value: null },
    ]);
  };
  publish();
  // A continued run re-reads its subject: a change signalled just before continue-as-new is not lost.
  if (input.state) apply(await load());

  for (;;) {
    if (revoked !== null) {
      // The API revoked the subject in the database first; record that the timer saw it and end.
      apply(await load());
      if (state.phase === 'active' || state.phase === 'pending') state.phase = 'revoked';
      state.next = null;
      publish();
      return state;
    }
    const step = nextStep(
      {
        startsAt: Date.parse(state.startsAt),
        expiresAt: state.expiresAt === null ? null : Date.parse(state.expiresAt),
        plannedFrom: Date.parse(state.plannedFrom),
        remindersSent: state.remindersSent,
      },
      state.phase,
      leadDays,
    );
    if (step.kind === 'none') {
      state.next = null;
      return state; // expired, revoked, gone, or permanent: no timer needed
    }
    state.next = { kind: step.kind, at: new Date(step.at).toISOString() };
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxHistoryEvents) {
      // The next run carries the state, not the first run's (by now old) snapshot.
      const { snapshot: _firstSnapshot, ...carried } = input;
      await continueAsNew<typeof packageLifecycleWorkflow>({ ...carried, state });
    }
    if (!keepsSignalsDuringSteps) changed = false;
    const interrupted = await condition(() => changed || revoked !== null, Math.max(0, step.at - Date.now()));
    if (interrupted) {
      if (changed) {
        changed = false; // before the read: a change signalled during it is read again
        apply(await load());
      }
      continue;
    }
    if (step.kind === 'activate') {
      apply(subjectType === 'user_package' ? await steps().activatePackage(input.subjectId, Date.now()) : await load());
    } else if (step.kind === 'remind') {
      // Recorded only if the subject still expires then (not extended, not gone): the activity checks.
      const snapshot =
        subjectType === 'user_package'
          ? await steps().remindPackage(input.subjectId, state.expiresAt!, step.leadDays)
          : await steps().remindSubscription(input.subjectId, state.expiresAt!, step.leadDays);
      state.remindersSent.push(step.key);
      apply(snapshot);
    } else {
      apply(subjectType === 'user_package' ? await steps().expirePackage(input.subjectId, Date.now()) : await steps().lapseSubscription(input.subjectId, Date.now()));
    }
  }
}

/** Scheduled: expires what is past its expiry but still live (a timer missed it) and records each. */
export async function expirySweepWorkflow(input: ScheduledJobInput = {}): Promise<string> {
  return jobs.runExpirySweep(input);
}

/** Scheduled: checks the ledger invariant and order/payment consistency; reports, changes nothing. */
export async function reconciliationWorkflow(input: ScheduledJobInput = {}): Promise<string> {
  return jobs.runReconciliation(input);
}

/** Scheduled: the daily inspection (ledger invariant, overdue holds and grants, unprovisioned orders, dead letters); reports, changes nothing. */
export async function dailyInspectionWorkflow(input: ScheduledJobInput = {}): Promise<string> {
  return jobs.runInspection(input);
}

/** Scheduled: rebuilds yesterday's and today's daily consumption rollup rows. */
export async function consumptionRollupWorkflow(input: ScheduledJobInput = {}): Promise<string> {
  return jobs.runConsumptionRollup(input);
}
