/**
 * Runs that started under earlier workflow code must still replay under the current code, or a deploy
 * breaks them mid-flight (a nondeterminism error stalls each such run).
 *
 * histories/de068ee/: reservation runs recorded on the Temporal dev server from the workflow as of
 * commit de068ee (before the handler/mutex/updatable-timer rewrite), with in-memory activities:
 * commit less than held + refunds until the window closes; extend, an extend past the maximum and a
 * commit of more than held (both refused), then expiry at the deadline; release; a hold refused for
 * lack of credits; a commit and a release sent together. (That code failed to replay the last one
 * itself, with a nondeterminism error on the cancelled deadline timer; the current code replays it.)
 *
 * Server: none; replay runs in the worker alone, from the bundle global setup built.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';

const RECORDED = path.join(__dirname, 'histories', 'de068ee');

it('replays every reservation run recorded under the previous workflow code', async () => {
  const files = readdirSync(RECORDED).filter((file) => file.endsWith('.json'));
  expect(files.length).toBeGreaterThanOrEqual(5);
  const histories = files.map((file) => ({
    workflowId: path.basename(file, '.json'),
    history: temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(RECORDED, file), 'utf8'))),
  }));
  const results: Array<{ workflowId: string; error: string | null }> = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } }, histories)) {
    results.push({ workflowId: result.workflowId, error: result.error?.message ?? null });
  }
  expect(results).toEqual(histories.map(({ workflowId }) => ({ workflowId, error: null })));
});
