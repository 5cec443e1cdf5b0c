/**
 * The credits service's methods: each names the HTTP route (by operationId) whose handler it runs,
 * how the request message becomes the route's params and body, and how the route's JSON answer
 * becomes the response message. Validation, access, idempotency and the business call are the
 * route's (api/route.ts, api/routes/internal.ts); nothing here decides anything.
 */
import { create, fromJson, type DescMessage, type JsonValue, type MessageShape } from '@bufbuild/protobuf';
import {
  CheckCreditsResponseSchema,
  CommitReservationResponseSchema,
  ConsumptionSchema,
  CreateReservationResponseSchema,
  CreditsService,
  DeductCreditsResponseSchema,
  ExtendReservationResponseSchema,
  GetReservationResponseSchema,
  RefundReservationResponseSchema,
  RefundSchema,
  ReleaseReservationResponseSchema,
  ReservationSchema,
} from './gen/durable_billing/credits/v1/credits_pb';

/** What a route answered: its JSON body, and whether it was an idempotent replay. */
export interface RouteAnswer {
  body: JsonValue;
  replayed: boolean;
}

interface MethodMapping<I, O> {
  operationId: string;
  request(message: I): { params?: unknown; body?: unknown };
  response(answer: RouteAnswer): O;
}

type Service = typeof CreditsService.method;
type Input<K extends keyof Service> = MessageShape<Service[K]['input']>;
type Output<K extends keyof Service> = MessageShape<Service[K]['output']>;
export type CreditsMethods = { [K in keyof Service]: MethodMapping<Input<K>, Output<K>> };

/** A JSON answer in the proto3 JSON mapping (same field names); fields the message lacks are dropped. */
function message<D extends DescMessage>(schema: D, json: JsonValue): MessageShape<D> {
  return fromJson(schema, json, { ignoreUnknownFields: true });
}

/** A part of the route's JSON answer (e.g. `reservation` of a commit). */
function part(answer: RouteAnswer, name: string): JsonValue {
  return (answer.body as Record<string, JsonValue>)[name] ?? null;
}

/** An int64 amount as the JSON number the route's schema expects (amounts are far below 2^53). */
function amount(value: bigint | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

export const creditsMethods: CreditsMethods = {
  checkCredits: {
    operationId: 'checkCredits',
    request: (m) => ({ body: { userId: m.userId, actionKey: m.actionKey, quantity: m.quantity } }),
    response: (a) => message(CheckCreditsResponseSchema, a.body),
  },
  deductCredits: {
    operationId: 'deductCredits',
    request: (m) => ({ body: { userId: m.userId, actionKey: m.actionKey, quantity: m.quantity, metadata: m.metadata } }),
    response: (a) => create(DeductCreditsResponseSchema, { consumption: message(ConsumptionSchema, a.body), replayed: a.replayed }),
  },
  createReservation: {
    operationId: 'createReservation',
    request: (m) => ({ body: { userId: m.userId, actionKey: m.actionKey, quantity: m.quantity, holdSeconds: m.holdSeconds } }),
    response: (a) => create(CreateReservationResponseSchema, { reservation: message(ReservationSchema, a.body), replayed: a.replayed }),
  },
  getReservation: {
    operationId: 'getReservation',
    request: (m) => ({ params: { reservationId: m.reservationId } }),
    response: (a) => message(GetReservationResponseSchema, a.body),
  },
  commitReservation: {
    operationId: 'commitReservation',
    request: (m) => ({ params: { reservationId: m.reservationId }, body: { quantity: m.quantity } }),
    response: (a) =>
      create(CommitReservationResponseSchema, {
        reservation: message(ReservationSchema, part(a, 'reservation')),
        consumption: message(ConsumptionSchema, part(a, 'consumption')),
        replayed: a.replayed,
      }),
  },
  releaseReservation: {
    operationId: 'releaseReservation',
    request: (m) => ({ params: { reservationId: m.reservationId }, body: {} }),
    response: (a) => create(ReleaseReservationResponseSchema, { reservation: message(ReservationSchema, a.body), replayed: a.replayed }),
  },
  extendReservation: {
    operationId: 'extendReservation',
    request: (m) => ({ params: { reservationId: m.reservationId }, body: { holdSeconds: m.holdSeconds } }),
    response: (a) => create(ExtendReservationResponseSchema, { reservation: message(ReservationSchema, a.body), replayed: a.replayed }),
  },
  refundReservation: {
    operationId: 'refundReservation',
    request: (m) => ({ params: { reservationId: m.reservationId }, body: { credits: amount(m.credits), reason: m.reason } }),
    response: (a) => create(RefundReservationResponseSchema, { refund: message(RefundSchema, a.body), replayed: a.replayed }),
  },
};
