#!/bin/sh
# Same-sitting A/B of the in-process per-stage breakdown: BASE is a checkout of the code before
# (with bench/micro copied in), HERE this tree. Alternates runs so load drifts hit both alike.
# Usage: sh bench/micro/ab.sh /path/to/base [rounds=3] [N=10] [writes=3000]
BASE=$1; ROUNDS=${2:-3}; N=${3:-10}; W=${4:-3000}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
i=0
while [ $i -lt "$ROUNDS" ]; do
  (cd "$BASE" && printf 'before '; npx tsx bench/micro/stages.ts "$N" "$W")
  (cd "$HERE" && printf 'after  '; npx tsx bench/micro/stages.ts "$N" "$W")
  i=$((i + 1))
done
