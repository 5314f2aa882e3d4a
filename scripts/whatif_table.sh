#!/usr/bin/env bash
# The runs behind docs/whatif.md, one at a time (2 shared CPU cores): each row's JSON in docs/whatif/.
# Usage: scripts/whatif_table.sh   (from the repository root, with rlviz importable)
set -u
PY=${PY:-python}
run() {  # name agent edit episodes max_steps
  echo "== $1: $2 --edit $3 --episodes $4 --max-steps $5 ($(date -u +%H:%M:%S))"
  OMP_NUM_THREADS=1 timeout 1200 $PY -m rlviz.cli whatif --agent "$2" --edit "$3" --episodes "$4" --max-steps "$5" \
    --threads 1 --quiet --json "docs/whatif/$1.json"
  echo "   exit $? ($(date -u +%H:%M:%S))"
}
run pong-opponent-frozen agents/pong opponent-frozen 3 3000
run pong-opponent-lazy agents/pong opponent-lazy 3 3000
run pong-blank-opponent-column agents/pong blank:8,13,11,78 3 3000
run pong-overfit-hint-off agents/pong-overfit hint:off 3 1500
run pong-overfit-hint-random agents/pong-overfit hint:random 3 1500
run pong-control-hint-off agents/pong-control hint:off 3 1500
run breakout-bottom-row-removed agents/breakout bottom-row-removed 3 2000
run breakout-bricks-invisible agents/breakout bricks-invisible 3 2000
run spaceinvaders-shields-removed agents/spaceinvaders shields-removed 3 2000
run spaceinvaders-invaders-not-shooting agents/spaceinvaders invaders-not-shooting 3 2000
