# syntax=docker/dockerfile:1
#
# durable-billing: one image for both processes.
#   API (default command):  docker run ... durable-billing
#   worker:                 docker run ... durable-billing node --import tsx worker/main.ts
#   migrations (+ seed):    docker run ... durable-billing node --import tsx prisma/migrate.ts --seed
# Commands run as `node --import tsx <entry>` (what `npx tsx <entry>` / `npm run api` do, minus the wrapper
# processes): npm and npx do not pass SIGTERM on to the program, which would then be killed without its
# graceful shutdown when the container stops.
# Configuration comes from the environment (infra/config.ts; .env.example lists every variable).
# docker-compose.yml runs the whole stack. The project's CI and dev machines have no Docker engine, so this
# file is not built there: keep it in step with package.json and docs/operations.md by reading.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------------
# build: install every dependency, generate the Prisma client, then drop the dev dependencies.
# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

COPY package.json package-lock.json ./
# --ignore-scripts: the project's own postinstall (`npm run db:generate`) needs the schema, which is copied
# below, so it runs as its own step; no dependency's install script is needed (Prisma's engine download is not:
# `prisma generate` only reads the schema, and the runtime uses the wasm query compiler with @prisma/adapter-pg).
RUN npm ci --ignore-scripts

COPY . .
# package.json's db:generate points PRISMA_SCHEMA_ENGINE_BINARY at an existing file unless it is already set,
# so generate works with or without network access to Prisma's binaries.
RUN npm run db:generate \
 && npm prune --omit=dev --ignore-scripts

# ---------------------------------------------------------------------------------------------------
# runtime: sources, production dependencies and the generated client; files owned by root, process runs as `node`.
# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    HOST=0.0.0.0 \
    PORT=3000

COPY --from=build /app /app

USER node
EXPOSE 3000
# No HEALTHCHECK here: the worker uses this image too and serves no HTTP. The API's probes are
# GET /healthz (liveness) and GET /readyz (readiness); docker-compose.yml checks /readyz.
CMD ["node", "--import", "tsx", "api/main.ts"]
