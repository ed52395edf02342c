#!/usr/bin/env bash
# npm run bench: every bench/*.bench.ts, on PGlite and, for those whose first line says
# "// databases: pglite postgres", on PostgreSQL too (TEST_DB=postgres, TEST_DATABASE_URL or
# postgres://postgres@127.0.0.1:5432/test; skipped with a warning when it does not answer).
# Figures are merged into bench/results.json. A missed goal is printed, not an error: the exit status
# is non-zero only when a benchmark crashed (or BENCH_STRICT=1 and a goal was missed).
# Usage: npm run bench [-- name-filter]   e.g. npm run bench -- login
set -uo pipefail
cd "$(dirname "$0")/.."

filter="${1:-}"
per_bench_timeout="${BENCH_TIMEOUT:-200}"
# A full run starts a fresh results file; a filtered run replaces only its own entries.
if [[ -z "$filter" ]]; then rm -f bench/results.json bench/results.json.tmp; fi

echo "bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (other processes skew absolute figures; compare ratios)"
if node --import tsx bench/support/postgres-available.ts; then
  postgres=yes
else
  postgres=no
  echo "bench: PostgreSQL not reachable, PostgreSQL runs skipped"
fi

failed=()
started=$SECONDS
for file in bench/*.bench.ts; do
  name="$(basename "$file" .bench.ts)"
  [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
  databases="$(sed -n '1s#^// databases: ##p' "$file")"
  for database in ${databases:-pglite}; do
    [[ "$database" == postgres && "$postgres" == no ]] && continue
    echo
    echo "=== $name [$database]"
    # A benchmark may ask for more time on its own second line: "// timeout-seconds: N".
    own_timeout="$(sed -n '1,3s#^// timeout-seconds: ##p' "$file")"
    if ! TEST_DB="$database" timeout --kill-after=10 "${own_timeout:-$per_bench_timeout}" node --import tsx "$file"; then
      echo "!!! $name [$database] failed"
      failed+=("$name[$database]")
    fi
  done
done

node --import tsx bench/report.ts
echo "bench: $((SECONDS - started)) s, load average now $(cut -d' ' -f1-3 /proc/loadavg)"
if ((${#failed[@]} > 0)); then
  echo "bench: FAILED: ${failed[*]}"
  exit 1
fi
if [[ "${BENCH_STRICT:-}" == 1 ]] && node -e "process.exit(require('./bench/results.json').some((r) => r.goal && !r.goalMet) ? 0 : 1)"; then
  exit 2
fi
