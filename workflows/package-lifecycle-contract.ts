/**
 * Contract of the lifecycle workflows: one timer per user package and one per subscription, and the
 * scheduled jobs (expiry sweep, reconciliation, consumption rollup). Signals and queries only, so the
 * time-skipping test server can run them. Workflow-safe (no I/O imports).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { LifecyclePhase } from '../modules/lifecycle/rules/lifecycle';

export const packageLifecycleWorkflowId = (userPackageId: string): string => `package-lifecycle-${userPackageId}`;
export const subscriptionLifecycleWorkflowId = (subscriptionId: string): string => `subscription-lifecycle-${subscriptionId}`;

export type LifecycleSubjectType = 'user_package' | 'subscription';

/** What the timer knows about its subject (a snapshot from the database, instants as ISO 8601 UTC). */
export interface SubjectSnapshot {
  phase: LifecyclePhase;
  startsAt: string;
  expiresAt: string | null;
}

/** The timer's state: the query answer and the continue-as-new input. */
export interface LifecycleState {
  subjectType: LifecycleSubjectType;
  subjectId: string;
  userId: string;
  phase: LifecyclePhase;
  startsAt: string;
  expiresAt: string | null;
  /** When the current expiry was set: reminders due before it are skipped. */
  plannedFrom: string;
  remindersSent: string[];
  /** The next thing the timer waits for, and when. */
  next: { kind: 'activate' | 'remind' | 'expire'; at: string } | null;
  /** Expiry changes signalled, over all runs. */
  expiryChanges: number;
  /** Runs this timer has had (continue-as-new count + 1). */
  run: number;
}

export interface LifecycleWorkflowInput {
  subjectId: string;
  userId: string;
  /** Reminder lead times in days (default 7 and 1). */
  reminderLeadDays?: number[];
  /** Continue as new once the run's history has this many events (default 2000) or the server suggests it. */
  maxHistoryEvents?: number;
  /**
   * The subject as the starter just read it from the database (LifecycleTimers passes it), so the
   * first workflow task plans the first wake-up without reading it again. The starter sets the
   * search attributes of this snapshot (`lifecycleSearchAttributes`). Runs started without one read
   * the subject first, as every run did before.
   */
  snapshot?: SubjectSnapshot;
  /** Carried over by continue-as-new. */
  state?: LifecycleState;
}

/** The expiry moved (renewal, admin change): the timer re-reads its subject and re-plans. */
export const expiryChangedSignal = defineSignal<[{ expiresAt: string | null }]>('expiryChanged');
/** The subject was revoked or cancelled: the timer ends. */
export const revokedSignal = defineSignal<[{ reason: string }]>('revoked');
export const lifecycleStateQuery = defineQuery<LifecycleState>('state');

// ---- scheduled jobs ----

export interface ScheduledJobInput {
  /** Only this user's data (operators and tests); default everything. */
  userId?: string;
  trigger?: 'schedule' | 'admin';
  /** The report row to write (so the caller knows it before the run ends); default a new id. */
  reportId?: string;
}

export const SCHEDULED_JOBS = {
  expirySweep: 'expirySweepWorkflow',
  reconciliation: 'reconciliationWorkflow',
  consumptionRollup: 'consumptionRollupWorkflow',
  dailyInspection: 'dailyInspectionWorkflow',
} as const;
export type ScheduledJobName = keyof typeof SCHEDULED_JOBS;
