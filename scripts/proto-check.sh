#!/usr/bin/env bash
# buf lint of proto/, then a drift check: the generated code in api/grpc/gen must be what
# `npm run proto` makes from the .proto files now (regenerate and commit when this fails).
set -euo pipefail
cd "$(dirname "$0")/.."
buf lint proto
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
buf generate --output "$out"
if ! diff -r "$out/api/grpc/gen" api/grpc/gen; then
  echo "api/grpc/gen is out of date with proto/: run npm run proto and commit the result" >&2
  exit 1
fi
echo "proto: lint ok, generated code up to date"
