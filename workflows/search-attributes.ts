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
];
