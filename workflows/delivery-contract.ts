/**
 * The webhook delivery workflow's contract: one run per (event, endpoint). Workflow-safe (no I/O).
 * The id makes a second hand-over of the same pair a no-op (see modules/events/relay.ts).
 */
export const deliveryWorkflowId = (eventId: string, endpointId: string): string => `delivery-${eventId}-${endpointId}`;

export interface DeliveryInput {
  eventId: string;
  endpointId: string;
  eventType: string;
  /** Delays before each attempt (ms); attempt i waits schedule[i] (or a longer Retry-After). */
  retryScheduleMs: number[];
}

type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface AttemptRequest {
  eventId: string;
  endpointId: string;
  /** 0-based attempt number within this run. */
  attempt: number;
  /** Workflow time the attempt was due (recorded with it; shows the backoff actually applied). */
  scheduledAtMs: number;
  retryScheduleMs: number[];
}

export interface AttemptResult {
  /** delivered: 2xx. retry: try again later. stop: the delivery is finished as failed (410, disabled endpoint, schedule exhausted). */
  outcome: 'delivered' | 'retry' | 'stop';
  statusCode: number | null;
  retryAfterMs: number | null;
}

export interface DeliveryResult {
  status: Exclude<DeliveryStatus, 'pending'>;
  attempts: number;
}
