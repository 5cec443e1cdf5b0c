/**
 * What each path and query parameter means, by name: the API uses one name for one thing everywhere
 * (an `orderId` is an order's id in every path), so one line each serves every operation. A parameter
 * whose schema carries its own description keeps it. A new parameter without either fails the lint
 * (redocly.yaml, parameter-description).
 */
const PARAMETER_DESCRIPTIONS: Record<string, string> = {
  // path: the resource addressed
  actionKey: 'The action price\'s key (lower_snake_case), as services name it in checks and spends.',
  channel: 'A payment channel code (GET /v1/payment-channels).',
  code: 'The coupon code (upper case).',
  creditNoteId: 'The credit note\'s id.',
  consumptionId: 'The consumption\'s id (a deduct\'s or a committed reservation\'s answer).',
  deliveryId: 'The webhook delivery\'s id.',
  endpointId: 'The webhook endpoint\'s id.',
  grantId: 'The grant\'s id (a user package).',
  invoiceId: 'The invoice\'s id.',
  itemId: 'The item\'s id as the report lists it (`<kind>:<subject id>`).',
  methodId: 'The saved payment method\'s id.',
  mismatchId: 'The mismatch\'s id in the report.',
  notificationId: 'The notification\'s id.',
  orderId: 'The order\'s id.',
  packageCode: 'The package\'s code.',
  packageId: 'The package\'s id.',
  refillId: 'The refill\'s id (its workflow id): `top-up-<ruleId>-<trigger id>` or `top-up-manual-<hash>`.',
  reportId: 'The report\'s id.',
  reservationId: 'The reservation\'s id (the answer of POST /v1/internal/reservations).',
  ruleId: 'The top-up rule\'s id.',
  sellerId: 'The seller\'s id.',
  userPackageId: 'The grant\'s id (a user package).',
  // query: filters
  status: 'Only items with this status.',
  currency: 'Only items in this currency (ISO 4217).',
  from: 'Only items at or after this instant (inclusive; ISO 8601 with offset).',
  to: 'Only items before this instant (exclusive; ISO 8601 with offset).',
  groupBy: 'Rows per UTC day (`day`, the default) or per action (`action`).',
  granularity: 'Rows per UTC day (`day`, the default) or month (`month`).',
  entityType: 'Only changes to this kind of catalog entity.',
  entityId: 'Only changes to this entity (an actionKey or a package id).',
  eventId: 'Only deliveries of this event.',
  enabled: '`true`: only enabled coupons; `false`: only disabled ones.',
  unread: '`true`: only notices not read yet.',
  kind: 'Only reports of this kind of job.',
  type: 'Only events of this type (docs/events.md).',
};

interface Parameter {
  name: string;
  in: string;
  description?: string;
  schema?: { description?: string };
}

/** Fills in each parameter's description (the generator leaves it on the schema, or nowhere). */
export function describeParameters(paths: object | undefined): void {
  for (const pathItem of Object.values(paths ?? {}) as Array<Record<string, { parameters?: Parameter[] } | undefined>>) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
      for (const parameter of pathItem[method]?.parameters ?? []) {
        if (parameter.in === 'header' || parameter.description) continue;
        const description = parameter.schema?.description ?? PARAMETER_DESCRIPTIONS[parameter.name];
        if (description) parameter.description = description;
      }
    }
  }
}
