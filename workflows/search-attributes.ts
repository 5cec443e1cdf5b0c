import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Search attributes an operator uses to find runs in the Temporal UI (e.g. `UserId = "user-42"`). */
export const UserIdKey = defineSearchAttributeKey('UserId', SearchAttributeType.KEYWORD);
export const ActionKeyKey = defineSearchAttributeKey('ActionKey', SearchAttributeType.KEYWORD);
export const ReservationIdKey = defineSearchAttributeKey('ReservationId', SearchAttributeType.KEYWORD);
export const ReservationStatusKey = defineSearchAttributeKey('ReservationStatus', SearchAttributeType.KEYWORD);
export const OrderIdKey = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
export const OrderStatusKey = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
export const EndpointIdKey = defineSearchAttributeKey('EndpointId', SearchAttributeType.KEYWORD);
export const EventTypeKey = defineSearchAttributeKey('EventType', SearchAttributeType.KEYWORD);
/** pending (first attempt due), retrying, delivered, failed. */
export const DeliveryStatusKey = defineSearchAttributeKey('DeliveryStatus', SearchAttributeType.KEYWORD);

/**
 * The user package(s) a run is about. A keyword list: SQL visibility stores (the dev server's SQLite, the
 * PostgreSQL of docker-compose) hold at most 10 custom Keyword attributes per namespace, and this list
 * already has 10; `UserPackageId = "<id>"` still finds every run whose list holds the id.
 */
export const UserPackageIdKey = defineSearchAttributeKey('UserPackageId', SearchAttributeType.KEYWORD_LIST);
/**
 * The top-up rule a refill run counts against. A keyword list for the same reason as UserPackageId (no
 * Keyword slot is left): `TopUpRuleId = "<rule id>"` finds every refill of the rule.
 */
export const TopUpRuleIdKey = defineSearchAttributeKey('TopUpRuleId', SearchAttributeType.KEYWORD_LIST);
export const PackageStatusKey = defineSearchAttributeKey('PackageStatus', SearchAttributeType.KEYWORD);
/** When the package (or subscription period) expires: `ExpiresAt < "2026-01-02T00:00:00Z"` in the UI. */
export const ExpiresAtKey = defineSearchAttributeKey('ExpiresAt', SearchAttributeType.DATETIME);

export const SEARCH_ATTRIBUTE_KEYS = [
  UserIdKey,
  ActionKeyKey,
  ReservationIdKey,
  ReservationStatusKey,
  OrderIdKey,
  OrderStatusKey,
  EndpointIdKey,
  EventTypeKey,
  DeliveryStatusKey,
  UserPackageIdKey,
  PackageStatusKey,
  ExpiresAtKey,
  TopUpRuleIdKey,
];
