#!/usr/bin/env bash
# Sets up everything the tests need and runs all of them. Idempotent.
#   bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_node
ensure_packages docker.io debootstrap openssh-client systemd tmux git
bash scripts/ensure-docker.sh
ensure_npm_deps

log "offline base image (a no-op when it exists)"
node dist/agent/main.js image build --offline

log "typecheck, lint, import cycles"
npm run --silent typecheck
npm run --silent lint
npm run --silent cycles >/dev/null

log "tests"
report=$(mktemp)
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json="$report"
status=$?
set -e
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$report" || true
exit $status
