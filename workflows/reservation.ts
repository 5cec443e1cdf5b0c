import { allHandlersFinished, condition, continueAsNew, setHandler } from '@temporalio/workflow';
import { ReservationRun } from './reservation-run';
import {
  commitUpdate,
  extendUpdate,
  refundUpdate,
  releaseUpdate,
  reserveUpdate,
  stateQuery,
  type ReservationInput,
  type ReservationState,
} from './reservation-contract';

/**
 * One reservation's life: hold credits (placed by the API before the start, in `input.held`; runs
 * started before that place it themselves), then wait for commit, release, extend or the hold deadline;
 * after a commit, accept refunds until the refund window closes. The database is the source of truth
 * for balances; this workflow sequences the steps durably and answers callers through Updates.
 * State and handler bodies live in ReservationRun (workflows/reservation-run.ts).
 */
export async function reservationWorkflow(input: ReservationInput, carried?: ReservationState): Promise<ReservationState> {
  const run = new ReservationRun(input, carried);

  // What this workflow accepts. Handlers are registered before the first await, so messages that
  // arrive with the start (reserve, via Update-With-Start, in runs started before the API held) find them.
  setHandler(stateQuery, () => run.state);
  setHandler(reserveUpdate, () => run.reserved(), { validator: (args) => run.validateReserve(args) });
  setHandler(commitUpdate, (args) => run.commit(args), { validator: (args) => run.validateCommit(args) });
  setHandler(releaseUpdate, (op) => run.release(op), { validator: (op) => run.validateRelease(op) });
  setHandler(extendUpdate, (args) => run.extend(args), { validator: (args) => run.validateExtend(args) });
  setHandler(refundUpdate, (args) => run.refund(args), { validator: (args) => run.validateRefund(args) });

  if (run.state.phase === 'reserving') await run.placeHold();
  if (run.state.phase === 'held') await run.awaitSettlementOrDeadline();
  if (run.state.phase === 'committed') await run.takeRefundsUntilWindowCloses();

  // Never complete or continue as new with a handler half-way (its caller would get no answer).
  await condition(allHandlersFinished);
  if (run.shouldContinueAsNew()) {
    // Bound the history of long-lived reservations (many extends or refunds).
    await continueAsNew<typeof reservationWorkflow>(input, run.state);
  }
  return run.state;
}
