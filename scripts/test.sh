#!/usr/bin/env bash
# `npm test`: tap over every test (or the files given), then, if any failed, a list of what
# failed after tap's summary, so the tail of a long CI log names it (scripts/test-failures.mjs).
set -uo pipefail
cd "$(dirname "$0")/.."
# tap keeps each file's results until that file runs again: clear them, so the list is this run's.
rm -rf .tap/test-results
npx tap "$@"
status=$?
[ "$status" -eq 0 ] || node scripts/test-failures.mjs
exit "$status"
