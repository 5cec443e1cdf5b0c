/**
 * gRPC server reflection (grpc.reflection.v1), so grpcurl, Postman and friends list and call the
 * services without the .proto files. The descriptors are the ones protoc-gen-es embedded in the
 * generated code, served file by file with their imports, on both servers of the port
 * (api/grpc/server.ts). (@grpc/reflection needs proto-loader's descriptors; these are protobuf-es's.)
 */
import { create, toBinary, type DescFile, type MessageInitShape } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter } from '@connectrpc/connect';
import { Code } from '@connectrpc/connect';
import type * as grpc from '@grpc/grpc-js';
import { grpcServiceDefinition } from './definition';
import {
  ServerReflection,
  ServerReflectionResponseSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from './gen/grpc/reflection/v1/reflection_pb';

interface ReflectedFiles {
  services: string[];
  byName: Map<string, DescFile>;
  bySymbol: Map<string, DescFile>;
}

/** Every file the served ones need, by name and by the full names of the symbols they declare. */
function index(files: DescFile[], services: string[]): ReflectedFiles {
  const byName = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    if (byName.has(file.proto.name)) return;
    byName.set(file.proto.name, file);
    for (const message of file.messages) bySymbol.set(message.typeName, file);
    for (const nested of file.messages.flatMap((m) => m.nestedMessages)) bySymbol.set(nested.typeName, file);
    for (const enumeration of file.enums) bySymbol.set(enumeration.typeName, file);
    for (const service of file.services) {
      bySymbol.set(service.typeName, file);
      for (const method of service.methods) bySymbol.set(`${service.typeName}.${method.name}`, file);
    }
    file.dependencies.forEach(visit);
  };
  files.forEach(visit);
  return { services, byName, bySymbol };
}

/** A file and its transitive imports, encoded (the client resolves the imports from the same answer). */
function withImports(file: DescFile): Uint8Array[] {
  const seen = new Set<string>();
  const encoded: Uint8Array[] = [];
  const add = (f: DescFile) => {
    if (seen.has(f.proto.name)) return;
    seen.add(f.proto.name);
    encoded.push(toBinary(FileDescriptorProtoSchema, f.proto));
    f.dependencies.forEach(add);
  };
  add(file);
  return encoded;
}

function answer(files: ReflectedFiles, request: ServerReflectionRequest): ServerReflectionResponse {
  const reply = (messageResponse: MessageInitShape<typeof ServerReflectionResponseSchema>['messageResponse']) =>
    create(ServerReflectionResponseSchema, { validHost: request.host, originalRequest: request, messageResponse });
  const notFound = (what: string) =>
    reply({ case: 'errorResponse', value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } });
  const found = (file: DescFile | undefined, what: string) =>
    file ? reply({ case: 'fileDescriptorResponse', value: { fileDescriptorProto: withImports(file) } }) : notFound(what);
  const { messageRequest } = request;
  switch (messageRequest.case) {
    case 'listServices':
      return reply({ case: 'listServicesResponse', value: { service: files.services.map((name) => ({ name })) } });
    case 'fileByFilename':
      return found(files.byName.get(messageRequest.value), `file ${messageRequest.value}`);
    case 'fileContainingSymbol':
      return found(files.bySymbol.get(messageRequest.value), `symbol ${messageRequest.value}`);
    default:
      // The services declare no extensions.
      return notFound('extension');
  }
}

function reflected(files: DescFile[]): ReflectedFiles {
  return index(files, files.flatMap((file) => file.services.map((service) => service.typeName)));
}

/** Registers grpc.reflection.v1.ServerReflection for the given files' services (itself included). */
export function registerReflection(router: ConnectRouter, files: DescFile[]): void {
  const served = reflected(files);
  router.service(ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) yield answer(served, request);
    },
  });
}

/** The same on a grpc-js server: one answer per request, until the client ends its stream. */
export function addReflectionService(server: grpc.Server, files: DescFile[]): void {
  const served = reflected(files);
  server.addService(grpcServiceDefinition(ServerReflection), {
    serverReflectionInfo(call: grpc.ServerDuplexStream<ServerReflectionRequest, ServerReflectionResponse>) {
      call.on('data', (request: ServerReflectionRequest) => call.write(answer(served, request)));
      call.on('end', () => call.end());
    },
  });
}
