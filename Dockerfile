# syntax=docker/dockerfile:1
#
# durable-billing: one image for both processes, running the compiled JavaScript (`npm run build` -> dist/;
# no TypeScript transpiler at run time: tsx is a dev dependency and is not in the image).
#   API (default command):  docker run ... durable-billing
#   worker:                 docker run ... durable-billing node dist/worker/main.js
#   migrations (+ seed):    docker run ... durable-billing node dist/prisma/migrate.js --seed
# Commands run `node` directly, not through npm: it is the container's PID 1 then, so SIGTERM reaches the
# program itself and it drains when the container stops. (`npm run start:api` etc. pass signals on too
# (they `exec` node), but add a process.)
# Configuration comes from the environment (modules/config.ts; .env.example lists every variable).
# docker-compose.yml runs the whole stack. The project's CI and dev machines have no Docker engine, so this
# file is not built there: keep it in step with package.json and docs/operations.md by reading
# (tests/processes.test.ts runs the compiled worker the way this image does).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------------
# build: install every dependency, generate the Prisma client, compile to dist/ (the generated client, the
# migrations and the workflow bundle included: the worker then runs no webpack at start), then drop the dev dependencies.
# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

COPY package.json package-lock.json ./
# The npm workspaces (the SDK and its example) are part of the lockfile: npm ci needs their package.json files.
COPY clients/typescript/package.json clients/typescript/
COPY examples/ai-chat/package.json examples/ai-chat/
# --ignore-scripts: the project's own postinstall (`npm run db:generate`) needs the schema, which is copied
# below, so it runs as its own step; no dependency's install script is needed (Prisma's engine download is not:
# `prisma generate` only reads the schema, and the runtime uses the wasm query compiler with @prisma/adapter-pg).
RUN npm ci --ignore-scripts

COPY . .
# package.json's db:generate points PRISMA_SCHEMA_ENGINE_BINARY at an existing file unless it is already set,
# so generate works with or without network access to Prisma's binaries.
RUN npm run db:generate \
 && npm run build \
 && npm prune --omit=dev --ignore-scripts

# ---------------------------------------------------------------------------------------------------
# runtime: the compiled programs and the production dependencies; files owned by root, process runs as `node`.
# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
# --max-semi-space-size=2 (MiB): a smaller young generation, for both programs; the API's command also
# caps its old space at 96 MiB (stateless; without the cap V8 grows its heap to ~300 MiB RSS under load),
# the worker's (docker-compose.yml) at 160 MiB: its workflow cache (250 runs, ~75 MiB) plus room for a
# burst. MALLOC_ARENA_MAX=2: glibc's malloc keeps two arenas instead of one per thread (Node's libuv and
# V8 threads each got their own), measured 30 MiB less RSS for the API under load, no CPU cost seen.
# docs/performance.md, target 4.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=2 \
    MALLOC_ARENA_MAX=2 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    HOST=0.0.0.0 \
    PORT=3000

COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

USER node
EXPOSE 3000
# No HEALTHCHECK here: the worker uses this image too and serves no HTTP. The API's probes are
# GET /healthz (liveness) and GET /readyz (readiness); docker-compose.yml checks /readyz.
CMD ["node", "--max-old-space-size=96", "dist/api/main.js"]
