import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../platform/logger';
import { BillingError } from '../platform/errors';
import { envelope } from './errors';

/**
 * How long an idle keep-alive connection stays open, ms. Node's default (5 s) is shorter than the idle
 * timeout of the clients and proxies in front of an API (undici 4 s from the header it is sent, load
 * balancers 60 s): when the server closes first, a client that picks the socket from its pool at that
 * moment gets ECONNRESET on a request the server never saw. Outliving them leaves the close to the client.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** Connection timeouts of the API's HTTP server (see KEEP_ALIVE_TIMEOUT_MS). */
export function keepIdleConnectionsLongerThanClients(server: Server): void {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // A request's headers must still arrive within this; it has to exceed the keep-alive timeout.
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
}

/**
 * Requests Node's HTTP parser refuses before Express sees them. Left alone, Node answers a header
 * block over `maxHeaderSize` (16 KiB by default) with a bare `431` and any other unparsable request
 * with a bare `400`, both without a body. This listener answers the same statuses with the error
 * envelope, then closes the connection (the parser cannot go on after such an error).
 */
export function answerParserErrorsWithEnvelope(server: Server, logger: Pick<Logger, 'info'>): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const refusal =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? new BillingError('HEADERS_TOO_LARGE', 'Request headers are too large.')
        : error.code === 'HPE_REQUEST_TIMEOUT' || error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new BillingError('REQUEST_REJECTED', 'The request took too long to arrive.', undefined, 408)
          : new BillingError('REQUEST_REJECTED', 'Malformed HTTP request.');
    logger.info({ code: refusal.code, parserError: error.code }, 'request refused by the HTTP parser');
    const body = JSON.stringify(envelope(refusal));
    socket.end(
      `HTTP/1.1 ${refusal.httpStatus} ${refusal.httpStatus === 431 ? 'Request Header Fields Too Large' : refusal.httpStatus === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
