import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { Schemas } from './client';

/** Every event a webhook endpoint may receive (the OpenAPI document's `webhooks`), discriminated by `type`. */
export type WebhookEvent = { [Name in keyof Schemas]: Name extends `${string}Webhook` ? Schemas[Name] : never }[keyof Schemas];

export { WebhookVerificationError };

type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function headerRecord(headers: HeaderSource): Record<string, string> {
  const record: Record<string, string> = {};
  const entries = headers instanceof Headers ? headers.entries() : Object.entries(headers);
  for (const [name, value] of entries) {
    if (value !== undefined) record[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return record;
}

/**
 * Checks a delivery's Standard Webhooks signature (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature`) over the raw body, exactly as received (parse it only after), and answers the
 * event. Pass several secrets while rotating: the delivery is good when one of them signed it.
 * Throws WebhookVerificationError for a bad signature or a timestamp more than five minutes off.
 * Dedupe on the event's `id`: a retried or replayed delivery carries the same one.
 */
export function verifyWebhook(secrets: string | readonly string[], rawBody: string | Buffer, headers: HeaderSource): WebhookEvent {
  const body = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
  const record = headerRecord(headers);
  let failure: unknown = new WebhookVerificationError('No signing secret given');
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    try {
      return new Webhook(secret).verify(body, record) as WebhookEvent;
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}
