/**
 * HTTP calls to the API under test, over keep-alive connections so that connection setup is not what is
 * measured. Every mutating call carries a fresh Idempotency-Key.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';

export interface HttpAnswer {
  status: number;
  body: any;
  text: string;
}

export class ApiClient {
  private agent = ApiClient.newAgent();

  constructor(
    readonly port: number,
    private readonly serviceKey: string,
  ) {}

  private static newAgent(): http.Agent {
    return new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });
  }

  /** New connections for the next phase (none left over from the previous one's load). */
  freshConnections(): void {
    this.agent.destroy();
    this.agent = ApiClient.newAgent();
  }

  close(): void {
    this.agent.destroy();
  }

  /** POST as the service, with a fresh Idempotency-Key. */
  post(urlPath: string, body: unknown): Promise<HttpAnswer> {
    return this.request('POST', urlPath, body, { authorization: `Bearer ${this.serviceKey}`, 'idempotency-key': randomUUID() });
  }

  get(urlPath: string): Promise<HttpAnswer> {
    return this.request('GET', urlPath, undefined, {});
  }

  /** GET with a bearer credential (admin key, metrics token). */
  getAs(urlPath: string, credential: string): Promise<HttpAnswer> {
    return this.request('GET', urlPath, undefined, { authorization: `Bearer ${credential}` });
  }

  /** POST of bytes as they are (a signed webhook body), with the caller's headers. */
  postRaw(urlPath: string, payload: string, headers: Record<string, string>): Promise<HttpAnswer> {
    return this.request('POST', urlPath, payload, { 'content-type': 'application/json', ...headers });
  }

  private request(method: 'GET' | 'POST', urlPath: string, body: unknown, headers: Record<string, string>): Promise<HttpAnswer> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          path: urlPath,
          method,
          agent: this.agent,
          headers:
            payload === undefined
              ? headers
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: response.statusCode ?? 0, body: parsed, text });
          });
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  }
}

/** One GET on a fresh connection, for readiness checks. */
export function httpGetStatus(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 3_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}
