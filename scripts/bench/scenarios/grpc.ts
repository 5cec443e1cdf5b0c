/**
 * Deducts through gRPC beside HTTP, in the same run and against the same API process: the credits
 * service's DeductCredits (api/grpc/server.ts, grpc-js's server) from a grpc-js client, 32 concurrent
 * calls on one channel (one HTTP/2 connection, as a gRPC client keeps), and POST
 * /v1/internal/credits/deduct from 32 keep-alive node:http clients. Both run the same route handler
 * and SQL, so the ratio is the transports' difference, server and client (target G).
 */
import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { cpuLine, type Bench } from '../context';
import { runLoad, type LoadOp } from '../load';
import { fmt, loadRow, log, printTable, reportErrors, round, write } from '../report';
import type { Scenario } from '../scenario';
import { ACTION_KEY } from '../stack';
import { apiDeductOp } from './deduct';
import { grpcServiceDefinition } from '../../../api/grpc/definition';
import {
  CreditsService,
  DeductCreditsRequestSchema,
  type DeductCreditsRequest,
  type DeductCreditsResponse,
} from '../../../api/grpc/gen/durable_billing/credits/v1/credits_pb';

const CLIENTS = 32;
/** gRPC channels (HTTP/2 connections) the concurrent calls are spread over. */
const CHANNELS = 1;
/** gRPC should cost no more than HTTP+JSON for the same call. */
const GRPC_OVER_HTTP_GOAL = 1;

/** Each transport's unmeasured run before the measured phases. */
const WARMUP_ROUND_SECONDS = 5;
/**
 * Its own connection per channel (channels to one address share one otherwise); no channelz statistics;
 * no transparent retries (grpc-js keeps each call's messages for them; the HTTP client does not retry).
 */
const CHANNEL_OPTIONS: grpc.ChannelOptions = { 'grpc.use_local_subchannel_pool': 1, 'grpc.enable_channelz': 0, 'grpc.enable_retries': 0 };

interface CreditsClient extends grpc.Client {
  deductCredits(request: DeductCreditsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<DeductCreditsResponse>): grpc.ClientUnaryCall;
}

async function run(bench: Bench): Promise<void> {
  const { stack, settings } = bench;
  const seconds = settings.measureSeconds;
  const Client = grpc.makeGenericClientConstructor(grpcServiceDefinition(CreditsService), CreditsService.typeName);
  // A local subchannel pool per channel: its own connection (channels to one address share one otherwise).
  const channels = Array.from(
    { length: CHANNELS },
    () => new Client(`127.0.0.1:${stack.grpcPort}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as CreditsClient,
  );
  const deduct = (channel: CreditsClient, metadata: grpc.Metadata, request: DeductCreditsRequest) =>
    new Promise<DeductCreditsResponse>((resolve, reject) => {
      channel.deductCredits(request, metadata, (error, answer) => (error ? reject(error) : resolve(answer!)));
    });
  const grpcDeduct: LoadOp = async (loop) => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${stack.serviceKey}`);
    metadata.set('idempotency-key', randomUUID());
    const request = create(DeductCreditsRequestSchema, { userId: stack.randomUser(), actionKey: ACTION_KEY, quantity: 1 });
    const answer = await deduct(channels[loop % CHANNELS]!, metadata, request);
    if (!answer.consumption || answer.replayed) throw new Error('grpc deduct: no fresh consumption');
  };
  const httpDeduct = apiDeductOp(bench);
  await grpcDeduct(0); // smoke test; opens the HTTP/2 connection
  await httpDeduct(0);

  const measureGrpc = async () => {
    log(`grpc deduct: DeductCredits from ${CLIENTS} concurrent calls on ${CHANNELS} gRPC channel(s) (grpc-js), ${settings.warmupSeconds}+${seconds} s`);
    await stack.settleDatabase();
    return bench.measure('grpc deduct', CLIENTS, seconds, grpcDeduct);
  };
  const measureHttp = async () => {
    log(`http deduct: POST /v1/internal/credits/deduct from ${CLIENTS} HTTP clients, ${settings.warmupSeconds}+${seconds} s`);
    await stack.settleDatabase();
    bench.api.freshConnections();
    return bench.measure('http deduct', CLIENTS, seconds, httpDeduct);
  };
  // Whichever transport ran first paid more CPU per deduct in every process (JIT, the worker's relay
  // warming up): both run unmeasured first, so the order of the measured phases does not decide the ratio.
  log(`warm-up round: ${WARMUP_ROUND_SECONDS} s of each, not measured`);
  await runLoad(CLIENTS, WARMUP_ROUND_SECONDS * 1000, grpcDeduct);
  await runLoad(CLIENTS, WARMUP_ROUND_SECONDS * 1000, httpDeduct);
  const grpcResult = await measureGrpc();
  const http = await measureHttp();
  for (const channel of channels) channel.close();

  const ratio = grpcResult.perSecond / http.perSecond;
  write(`\nDeducts over gRPC and HTTP — ${CLIENTS} clients, ${seconds} s measured after ${settings.warmupSeconds} s warm-up\n`);
  printTable(['', 'clients', 'ops/s', 'p50 ms', 'p99 ms', 'ok', 'errors'], [
    loadRow('grpc: credits.v1.CreditsService/DeductCredits', grpcResult),
    loadRow('http: POST /v1/internal/credits/deduct', http),
  ]);
  reportErrors('grpc deduct', grpcResult);
  reportErrors('http deduct', http);
  write(`  CPU ms per op — grpc deduct:   ${cpuLine(grpcResult)}\n  CPU ms per op — http deduct:   ${cpuLine(http)}\n`);
  bench.target({
    number: 'G',
    name: 'grpc-deduct',
    value: ratio,
    comparison: '>=',
    goal: GRPC_OVER_HTTP_GOAL,
    meaning: `gRPC deducts ${fmt(grpcResult.perSecond)}/s over HTTP's ${fmt(http.perSecond)}/s, ${CLIENTS} clients`,
  });
  write('\n');
  bench.summary(`grpc deducts/s   grpc ${fmt(grpcResult.perSecond)} (p99 ${fmt(grpcResult.p99, 2)} ms)  http ${fmt(http.perSecond)} (p99 ${fmt(http.p99, 2)} ms)  ratio ${ratio.toFixed(3)}`);
  bench.results.grpc = { grpc: grpcResult, http, grpcOverHttpRatio: round(ratio, 4) };
}

export const scenario: Scenario = {
  name: 'grpc',
  order: 11,
  description: 'deducts through gRPC (DeductCredits) beside POST /v1/internal/credits/deduct in the same run (target G)',
  run,
};
