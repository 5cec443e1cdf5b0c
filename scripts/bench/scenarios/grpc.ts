/**
 * Deducts through gRPC beside HTTP, in the same run and against the same API process: the credits
 * service's DeductCredits (api/grpc/server.ts, ConnectRPC, one HTTP/2 connection as a gRPC client
 * keeps) and POST /v1/internal/credits/deduct, both from the same number of concurrent clients. Both
 * run the same route handler and SQL, so the ratio is the transports' difference (target G).
 */
import { randomUUID } from 'node:crypto';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { cpuLine, type Bench } from '../context';
import type { LoadOp } from '../load';
import { fmt, loadRow, log, printTable, reportErrors, round, write } from '../report';
import type { Scenario } from '../scenario';
import { ACTION_KEY } from '../stack';
import { apiDeductOp } from './deduct';
import { CreditsService } from '../../../api/grpc/gen/durable_billing/credits/v1/credits_pb';

const CLIENTS = 32;
/** gRPC should cost no more than HTTP+JSON for the same call. */
const GRPC_OVER_HTTP_GOAL = 1;

async function run(bench: Bench): Promise<void> {
  const { stack, settings } = bench;
  const seconds = settings.measureSeconds;
  const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${stack.grpcPort}` });
  const credits = createClient(CreditsService, transport);
  const headers = () => ({ authorization: `Bearer ${stack.serviceKey}`, 'idempotency-key': randomUUID() });
  const grpcDeduct: LoadOp = async () => {
    const answer = await credits.deductCredits({ userId: stack.randomUser(), actionKey: ACTION_KEY, quantity: 1 }, { headers: headers() });
    if (!answer.consumption || answer.replayed) throw new Error('grpc deduct: no fresh consumption');
  };
  const httpDeduct = apiDeductOp(bench);
  await grpcDeduct(0); // smoke test; opens the HTTP/2 connection
  await httpDeduct(0);

  log(`grpc deduct: DeductCredits from ${CLIENTS} concurrent calls on one HTTP/2 connection, ${settings.warmupSeconds}+${seconds} s`);
  await stack.settleDatabase();
  const grpc = await bench.measure('grpc deduct', CLIENTS, seconds, grpcDeduct);
  log(`http deduct: POST /v1/internal/credits/deduct from ${CLIENTS} HTTP clients, ${settings.warmupSeconds}+${seconds} s`);
  await stack.settleDatabase();
  bench.api.freshConnections();
  const http = await bench.measure('http deduct', CLIENTS, seconds, httpDeduct);

  const ratio = grpc.perSecond / http.perSecond;
  write(`\nDeducts over gRPC and HTTP — ${CLIENTS} clients, ${seconds} s measured after ${settings.warmupSeconds} s warm-up\n`);
  printTable(['', 'clients', 'ops/s', 'p50 ms', 'p99 ms', 'ok', 'errors'], [
    loadRow('grpc: credits.v1.CreditsService/DeductCredits', grpc),
    loadRow('http: POST /v1/internal/credits/deduct', http),
  ]);
  reportErrors('grpc deduct', grpc);
  reportErrors('http deduct', http);
  write(`  CPU ms per op — grpc deduct:   ${cpuLine(grpc)}\n  CPU ms per op — http deduct:   ${cpuLine(http)}\n`);
  bench.target({
    number: 'G',
    name: 'grpc-deduct',
    value: ratio,
    comparison: '>=',
    goal: GRPC_OVER_HTTP_GOAL,
    meaning: `gRPC deducts ${fmt(grpc.perSecond)}/s over HTTP's ${fmt(http.perSecond)}/s, ${CLIENTS} clients`,
  });
  write('\n');
  bench.summary(`grpc deducts/s   grpc ${fmt(grpc.perSecond)} (p99 ${fmt(grpc.p99, 2)} ms)  http ${fmt(http.perSecond)} (p99 ${fmt(http.p99, 2)} ms)  ratio ${ratio.toFixed(3)}`);
  bench.results.grpc = { grpc, http, grpcOverHttpRatio: round(ratio, 4) };
}

export const scenario: Scenario = {
  name: 'grpc',
  order: 11,
  description: 'deducts through gRPC (DeductCredits) beside POST /v1/internal/credits/deduct in the same run (target G)',
  run,
};
