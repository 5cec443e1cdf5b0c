/**
 * Keeps a finished run's history as a JSON file for the replay tests, when RECORD_HISTORIES names a
 * folder (`RECORD_HISTORIES=tests/workflows/histories/<commit>-<name> npx jest <file>`); otherwise nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

export async function keepHistory(client: Client, workflowId: string, name: string): Promise<void> {
  const folder = process.env.RECORD_HISTORIES;
  if (!folder) return;
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, `${name}.json`), `${JSON.stringify(temporal.api.history.v1.History.fromObject(history).toJSON(), null, 1)}\n`);
}
