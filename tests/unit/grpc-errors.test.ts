import { fromBinary } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { BillingError, ERROR_STATUS, type ErrorCode } from '../../platform/errors';
import { connectErrorFrom, grpcCodeForHttpStatus, grpcStatusFrom } from '../../api/grpc/errors';
import { ErrorInfoSchema, RetryInfoSchema } from '../../api/grpc/gen/google/rpc/error_details_pb';
import { StatusSchema } from '../../api/grpc/gen/google/rpc/status_pb';

describe('gRPC status of a refusal', () => {
  it('maps every stable code to a failing gRPC status from its HTTP status', () => {
    const expected: Record<number, Code> = {
      400: Code.InvalidArgument,
      401: Code.Unauthenticated,
      402: Code.FailedPrecondition,
      403: Code.PermissionDenied,
      404: Code.NotFound,
      409: Code.Aborted,
      413: Code.InvalidArgument,
      415: Code.InvalidArgument,
      422: Code.InvalidArgument,
      429: Code.ResourceExhausted,
      431: Code.InvalidArgument,
      500: Code.Internal,
      502: Code.Internal,
      503: Code.Unavailable,
    };
    for (const [code, status] of Object.entries(ERROR_STATUS) as [ErrorCode, number][]) {
      expect([code, grpcCodeForHttpStatus(status)]).toEqual([code, expected[status]]);
    }
  });

  it('carries the stable code, the HTTP status and the details in ErrorInfo', () => {
    const error = connectErrorFrom(new BillingError('INSUFFICIENT_CREDITS', 'Not enough credits.', { required: 5, available: 4 }));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.rawMessage).toBe('Not enough credits.');
    const [info] = error.findDetails(ErrorInfoSchema);
    expect(info).toMatchObject({ reason: 'INSUFFICIENT_CREDITS', domain: 'durable-billing', metadata: { httpStatus: '402' } });
    expect(JSON.parse(info!.metadata.details!)).toEqual({ required: 5, available: 4 });
    // Without details, no details entry.
    expect(connectErrorFrom(new BillingError('UNAUTHENTICATED', 'No credential.')).findDetails(ErrorInfoSchema)[0]!.metadata).toEqual({ httpStatus: '401' });
  });
});

describe('the same refusal from both servers of the port', () => {
  it('gives grpc-js (gRPC) the code, message and ErrorInfo ConnectRPC (gRPC-Web, Connect) sends, for every stable code', () => {
    for (const code of Object.keys(ERROR_STATUS) as ErrorCode[]) {
      const refusal = new BillingError(code, `refused: ${code}`, code === 'INSUFFICIENT_CREDITS' ? { required: 5, available: 4 } : undefined);
      const overConnect = connectErrorFrom(refusal);
      const overGrpc = grpcStatusFrom(refusal);
      expect([code, overGrpc.code as number]).toEqual([code, overConnect.code as number]);
      expect(overGrpc.details).toBe(overConnect.rawMessage);
      // grpc-status-details-bin: a google.rpc.Status whose details hold the ErrorInfo, packed in an Any.
      const [bytes] = overGrpc.metadata.get('grpc-status-details-bin') as Buffer[];
      const status = fromBinary(StatusSchema, bytes!);
      expect(status.code).toBe(overGrpc.code);
      expect(status.message).toBe(refusal.message);
      expect(status.details.map((detail) => anyUnpack(detail, ErrorInfoSchema))).toEqual(overConnect.findDetails(ErrorInfoSchema));
    }
  });
});

describe('retry info of a refusal that asks the caller to wait', () => {
  it('adds a RetryInfo and retry-after metadata from details.retryAfterSeconds, on both servers, and none otherwise', () => {
    const refusal = new BillingError('RATE_LIMITED', 'Too many requests; retry after 7 s.', { retryAfterSeconds: 7 });
    const overConnect = connectErrorFrom(refusal);
    expect(overConnect.code).toBe(Code.ResourceExhausted);
    expect(overConnect.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds).toBe(7n);
    expect(overConnect.metadata.get('retry-after')).toBe('7');
    const overGrpc = grpcStatusFrom(refusal);
    const status = fromBinary(StatusSchema, (overGrpc.metadata.get('grpc-status-details-bin') as Buffer[])[0]!);
    expect(status.details.map((detail) => anyUnpack(detail, RetryInfoSchema)).find(Boolean)?.retryDelay?.seconds).toBe(7n);
    expect(overGrpc.metadata.get('retry-after')).toEqual(['7']);

    const plain = new BillingError('INSUFFICIENT_CREDITS', 'Not enough credits.', { required: 5, available: 4 });
    expect(connectErrorFrom(plain).findDetails(RetryInfoSchema)).toEqual([]);
    expect(connectErrorFrom(plain).metadata.get('retry-after')).toBeNull();
    expect(grpcStatusFrom(plain).metadata.get('retry-after')).toEqual([]);
  });
});
