/**
 * Starts and signals the lifecycle timers for any entry point (admin API, sign-up, the order
 * workflow's activity, the sweep). A start is a no-op when the timer runs (conflict policy
 * USE_EXISTING); an expiry change or revocation is a signal, and a timer that is not running (it
 * was terminated, say) is started instead so it picks the change up from the database.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { GrantTimes } from '../credits';
import { ExpiresAtKey, PackageStatusKey, UserIdKey, UserPackageIdKey } from '../../workflows/search-attributes';
import {
  expiryChangedSignal,
  packageLifecycleWorkflowId,
  revokedSignal,
  subscriptionLifecycleWorkflowId,
  type LifecycleWorkflowInput,
  type SubjectSnapshot,
} from '../../workflows/package-lifecycle-contract';
import { grantPhase, grantSnapshot, subscriptionSnapshot } from './subjects';

/** What a subscription's timer needs to know of it (a Subscription row has it). */
export interface SubscriptionTimes {
  id: string;
  userId: string;
  status: 'active' | 'expired' | 'cancelled';
  currentPeriodStart: Date;
  currentPeriodEnd: Date | null;
}

/** The status and expiry search attributes of a timer whose subject is in this state (what the workflow publishes). */
function lifecycleSearchAttributes(snapshot: SubjectSnapshot): Array<{ key: any; value: any }> {
  return [{ key: PackageStatusKey, value: snapshot.phase }, ...(snapshot.expiresAt ? [{ key: ExpiresAtKey, value: new Date(snapshot.expiresAt) }] : [])];
}

/**
 * How the timers plan, the same for every starter (an admin grant, sign-up, an expiry change that finds
 * no timer running, an order's activity): the reminder lead times are required, so no start can fall
 * back to the workflow's default while LIFECYCLE_REMINDER_LEAD_DAYS says otherwise.
 */
export interface LifecycleTimerSettings {
  /** LIFECYCLE_REMINDER_LEAD_DAYS (`lifecycleTimerSettings`). */
  reminderLeadDays: readonly number[];
  /** Continue-as-new threshold (default in the workflow); tests lower it. */
  maxHistoryEvents?: number;
}

export interface LifecycleTimerOptions extends LifecycleTimerSettings {
  temporal: Client;
  taskQueue: string;
}

/** The timers' settings from the configuration (the API and the worker both start timers, so both read it). */
export function lifecycleTimerSettings(config: { LIFECYCLE_REMINDER_LEAD_DAYS: readonly number[] }): LifecycleTimerSettings {
  return { reminderLeadDays: config.LIFECYCLE_REMINDER_LEAD_DAYS };
}

/** The one place a timer's start input is built: its subject, its first snapshot and the settings. */
function lifecycleWorkflowInput(subjectId: string, userId: string, snapshot: SubjectSnapshot, settings: LifecycleTimerSettings): LifecycleWorkflowInput {
  return {
    subjectId,
    userId,
    reminderLeadDays: [...settings.reminderLeadDays],
    ...(settings.maxHistoryEvents ? { maxHistoryEvents: settings.maxHistoryEvents } : {}),
    snapshot,
  };
}

/** A grant needs a timer unless it is permanent and already active, or already final. */
export function needsTimer(grant: Pick<GrantTimes, 'status' | 'expiresAt'>): boolean {
  const phase = grantPhase(grant.status, grant.expiresAt);
  return phase === 'pending' || phase === 'active';
}

export class LifecycleTimers {
  constructor(private readonly options: LifecycleTimerOptions) {}

  /** Starts the package's timer (no-op if it runs). Answers false when none is needed (permanent, final). */
  async trackPackage(grant: GrantTimes): Promise<boolean> {
    if (!needsTimer(grant)) return false;
    await this.start('packageLifecycleWorkflow', packageLifecycleWorkflowId(grant.id), grant.id, grant.userId, grantSnapshot(grant)!, [
      { key: UserPackageIdKey, value: [grant.id] },
      { key: UserIdKey, value: grant.userId },
    ]);
    return true;
  }

  /** The package's expiry moved: the running timer re-plans; a missing one is started. */
  async packageExpiryChanged(grant: GrantTimes): Promise<void> {
    const signalled = await this.signal(packageLifecycleWorkflowId(grant.id), () =>
      this.options.temporal.workflow.getHandle(packageLifecycleWorkflowId(grant.id)).signal(expiryChangedSignal, { expiresAt: grant.expiresAt?.toISOString() ?? null }),
    );
    if (!signalled) await this.trackPackage(grant);
  }

  async packageRevoked(grantId: string, reason: string): Promise<void> {
    await this.signal(packageLifecycleWorkflowId(grantId), () =>
      this.options.temporal.workflow.getHandle(packageLifecycleWorkflowId(grantId)).signal(revokedSignal, { reason }),
    );
  }

  /**
   * A subscription that has just been created (its first period): no timer can run for it yet, so it
   * is started at once, without the signal `subscriptionPeriodChanged` tries first (a start that finds
   * the timer running, a retried step's, does nothing).
   */
  async subscriptionStarted(subscription: SubscriptionTimes): Promise<void> {
    if (subscription.currentPeriodEnd) await this.startSubscriptionTimer(subscription);
  }

  /** A subscription got a period (renewal, restart): move its running timer, or start one. */
  async subscriptionPeriodChanged(subscription: SubscriptionTimes): Promise<void> {
    const id = subscriptionLifecycleWorkflowId(subscription.id);
    const signalled = await this.signal(id, () =>
      this.options.temporal.workflow.getHandle(id).signal(expiryChangedSignal, { expiresAt: subscription.currentPeriodEnd?.toISOString() ?? null }),
    );
    if (!signalled && subscription.currentPeriodEnd) await this.startSubscriptionTimer(subscription);
  }

  private async startSubscriptionTimer(subscription: SubscriptionTimes): Promise<void> {
    await this.start('subscriptionLifecycleWorkflow', subscriptionLifecycleWorkflowId(subscription.id), subscription.id, subscription.userId, subscriptionSnapshot(subscription)!, [
      { key: UserIdKey, value: subscription.userId },
    ]);
  }

  /**
   * Starts a timer with the snapshot its starter just read (the workflow plans from it without a
   * read of its own) and that snapshot's search attributes, which the workflow then does not publish
   * again. No-op when the timer runs (conflict policy USE_EXISTING).
   */
  private async start(
    workflowType: string,
    workflowId: string,
    subjectId: string,
    userId: string,
    snapshot: SubjectSnapshot,
    typedSearchAttributes: Array<{ key: any; value: any }>,
  ): Promise<void> {
    try {
      await this.options.temporal.workflow.start(workflowType, {
        workflowId,
        taskQueue: this.options.taskQueue,
        args: [lifecycleWorkflowInput(subjectId, userId, snapshot, this.options)],
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: [...typedSearchAttributes, ...lifecycleSearchAttributes(snapshot)],
      });
    } catch (error) {
      // A server without conflict policies answers "already started": the timer runs, which is the point.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }

  /** Signals a running timer; false when there is none (closed or never started). */
  private async signal(_workflowId: string, send: () => Promise<void>): Promise<boolean> {
    try {
      await send();
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  }
}
