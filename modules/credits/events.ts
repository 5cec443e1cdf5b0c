/**
 * The credit engine's bridge to the event log: each operation records its event and re-checks the
 * balance-low rule in its own transaction, so an event exists exactly when the change committed.
 */
import type { Tx } from '../../platform/database';
import { noteAvailableCredits } from '../events';
import { spendableCredits } from './grants';

export { recordEvent } from '../../platform/outbox/record';

/** After a change to the user's available credits (under the user's lock): the balance-low rule. */
export async function afterBalanceChange(tx: Tx, userId: string): Promise<void> {
  await noteAvailableCredits(tx, userId, await spendableCredits(tx, userId, new Date()));
}
