/**
 * A grpc-js service definition for a protobuf-es service descriptor: the method paths and the
 * (de)serialisers grpc-js needs, from the code protoc-gen-es generated (api/grpc/gen), so the server
 * and the clients (tests, bench) need neither proto-loader nor a second code generator.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { fromBinary, toBinary, type DescMessage, type DescService, type MessageShape } from '@bufbuild/protobuf';

/** The encoded message as a Buffer over the same memory (grpc-js frames Buffers; no copy). */
function encoder<D extends DescMessage>(schema: D): (message: MessageShape<D>) => Buffer {
  return (message) => {
    const bytes = toBinary(schema, message);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function decoder<D extends DescMessage>(schema: D): (bytes: Buffer) => MessageShape<D> {
  return (bytes) => fromBinary(schema, bytes);
}

/**
 * One entry per method, keyed by its local name (`deductCredits`): handlers registered with
 * `server.addService` and the methods of a `makeGenericClientConstructor` client use that name.
 * Messages passed in must be protobuf-es messages (`create(Schema, …)`), as toBinary reads them by
 * their descriptor.
 */
export function grpcServiceDefinition(service: DescService): ServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      originalName: method.name,
      requestStream: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      requestSerialize: encoder(method.input) as (message: unknown) => Buffer,
      requestDeserialize: decoder(method.input),
      responseSerialize: encoder(method.output) as (message: unknown) => Buffer,
      responseDeserialize: decoder(method.output),
    };
  }
  return definition;
}
