/**
 * The workflow-safe face of modules/credits: the shapes workflow code stores (update results, query
 * state, continue-as-new input), exported as types only so the workflow bundle loads nothing from
 * here. They are inferred from the zod views; a view changes only by adding fields (docs/architecture.md).
 */
export type { ConsumptionView, RefundView, ReservationView } from './views';
