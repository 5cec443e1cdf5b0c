/**
 * Replay checks for workflow determinism: the runs a test produced, or runs recorded under earlier
 * workflow code (JSON files, one per run, named by workflow id), replayed by the worker alone with
 * the suite's workflow bundle. No server is needed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { suiteWorkflowBundle } from './workflow-bundle';

export function recordedHistories(folder: string): HistoryAndWorkflowId[] {
  return readdirSync(folder)
    .filter((file) => file.endsWith('.json'))
    .map((file) => ({
      workflowId: path.basename(file, '.json'),
      history: temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(folder, file), 'utf8'))),
    }));
}

/** Each run's replay outcome, in replay order: `error` is null when it replayed. */
export async function replayAll(histories: HistoryAndWorkflowId[]): Promise<Array<{ workflowId: string; error: string | null }>> {
  const results: Array<{ workflowId: string; error: string | null }> = [];
  for await (const result of Worker.runReplayHistories(suiteWorkflowBundle(), histories)) {
    results.push({ workflowId: result.workflowId, error: result.error?.message ?? null });
  }
  return results;
}

/** What replayAll answers when every run replayed. */
export function allReplayed(histories: HistoryAndWorkflowId[]): Array<{ workflowId: string; error: null }> {
  return histories.map(({ workflowId }) => ({ workflowId, error: null }));
}
