/**
 * The request log (api/request-log.ts): the request id in and out, one JSON line per request with the
 * fields operators search by (request id, method, url, status, duration), the bindings a handler adds
 * to `req.log` on that line, no headers (so no credential) in the log, probes not logged.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import pino from 'pino';
import { requestLogging } from '../../api/request-log';
import { waitFor } from '../support/wait';

const lines: Record<string, unknown>[] = [];
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'info', base: { component: 'api' } }, sink);
  const app = express();
  app.use(requestLogging(app, logger));
  app.get('/healthz', (_req, res) => void res.send('ok'));
  app.post('/work', (req, res) => {
    req.log.setBindings({ workflowId: 'wf-1' });
    res.status(201).json({ ok: true });
  });
  app.get('/plain', (_req, res) => void res.json({ ok: true }));
  app.get('/broken', () => {
    throw new Error('boom');
  });
  app.use(((_error, req, res, _next) => {
    req.log.error('unhandled error');
    res.status(500).json({ error: { code: 'INTERNAL' } });
  }) as express.ErrorRequestHandler);
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** The request's last line (written when the response closes, just after the client has it). */
async function lineFor(id: string): Promise<Record<string, unknown>> {
  const found = await waitFor(() => {
    const written = lines.filter((line) => (line.req as { id?: string } | undefined)?.id === id && line.res !== undefined);
    return written.length > 0 && written;
  }, 60_000, `the log line of request ${id}`);
  expect(found).toHaveLength(1);
  return found[0]!;
}

it('answers the caller\'s request id and logs one line with the id, method, url, status, duration and the handler\'s bindings', async () => {
  const response = await fetch(`${baseUrl}/work?x=1`, {
    method: 'POST',
    headers: { 'x-request-id': 'req-abc.1', authorization: 'Bearer secret-credential' },
  });
  expect(response.status).toBe(201);
  expect(response.headers.get('x-request-id')).toBe('req-abc.1');
  const line = await lineFor('req-abc.1');
  expect(line).toMatchObject({
    level: 30,
    component: 'api',
    msg: 'request completed',
    workflowId: 'wf-1',
    req: { id: 'req-abc.1', method: 'POST', url: '/work?x=1' },
    res: { statusCode: 201 },
  });
  expect(typeof line.responseTime).toBe('number');
  expect(JSON.stringify(lines)).not.toContain('secret-credential');
});

it('gives a request without a usable id a new one, and logs a request whose handler never used req.log', async () => {
  const response = await fetch(`${baseUrl}/plain`, { headers: { 'x-request-id': 'not a safe id!' } });
  const id = response.headers.get('x-request-id')!;
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  expect(await lineFor(id)).toMatchObject({ msg: 'request completed', req: { id, method: 'GET', url: '/plain' }, res: { statusCode: 200 } });
});

it('logs a failed request as errored, with the handler\'s error line under the same request id', async () => {
  const response = await fetch(`${baseUrl}/broken`);
  expect(response.status).toBe(500);
  const id = response.headers.get('x-request-id')!;
  expect(await lineFor(id)).toMatchObject({ msg: 'request errored', res: { statusCode: 500 } });
  expect(lines.some((line) => line.msg === 'unhandled error' && (line.req as { id?: string }).id === id)).toBe(true);
});

it('does not log health probes', async () => {
  const response = await fetch(`${baseUrl}/healthz`);
  const id = response.headers.get('x-request-id')!;
  const later = await fetch(`${baseUrl}/plain`);
  await lineFor(later.headers.get('x-request-id')!); // a later request's line: the probe's would have been written by now
  expect(lines.some((line) => (line.req as { id?: string } | undefined)?.id === id)).toBe(false);
});
