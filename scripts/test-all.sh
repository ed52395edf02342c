#!/usr/bin/env bash
# Sets up what the tests need on a fresh machine (Debian packages, PostgreSQL reachable), then runs
# typecheck, lint, the build, and the whole suite on PGlite and on PostgreSQL.
# Usage: npm ci && npm test
set -euo pipefail
cd "$(dirname "$0")/.."

need_packages=()
command -v chromium >/dev/null 2>&1 || need_packages+=(chromium)
command -v oathtool >/dev/null 2>&1 || need_packages+=(oathtool)
command -v turnserver >/dev/null 2>&1 || need_packages+=(coturn)
command -v pdftoppm >/dev/null 2>&1 || need_packages+=(poppler-utils)
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${need_packages[*]}"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
  fi
fi

export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432; trying to start the local cluster"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  sleep 2
fi

[ -d node_modules ] || npm ci

echo "== typecheck"; npx tsc -p tsconfig.json --noEmit && npx tsc -p web/tsconfig.json --noEmit
echo "== lint"; npx eslint .
echo "== build"; npm run build --silent

reports=$(mktemp -d)
status=0
echo "== tests on PGlite (embedded default)"
TEST_DB=pglite npx vitest run --reporter=default --reporter=json --outputFile="$reports/pglite.json" || status=1
echo "== tests on PostgreSQL ($TEST_DATABASE_URL)"
TEST_DB=postgres npx vitest run --reporter=default --reporter=json --outputFile="$reports/postgres.json" || status=1

node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  const failures = [];
  for (const file of fs.readdirSync(process.argv[1])) {
    const report = JSON.parse(fs.readFileSync(process.argv[1] + "/" + file, "utf8"));
    passed += report.numPassedTests; failed += report.numFailedTests; skipped += report.numPendingTests + report.numTodoTests;
    // The failures again at the very end, so that the tail of a CI log names them.
    for (const suite of report.testResults) {
      const where = `[${file.replace(".json", "")}] ${suite.name.replace(process.cwd() + "/", "")}`;
      if (suite.status === "failed" && suite.assertionResults.every((test) => test.status !== "failed")) failures.push(`${where}: ${String(suite.message).split("\n")[0]}`);
      for (const test of suite.assertionResults) {
        if (test.status === "failed") failures.push(`${where} > ${test.fullName}\n    ${String(test.failureMessages[0] ?? "").split("\n").slice(0, 3).join("\n    ")}`);
      }
    }
  }
  for (const failure of failures) console.log(`FAILED ${failure}`);
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$reports"
exit $status
