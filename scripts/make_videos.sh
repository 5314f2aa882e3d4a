#!/usr/bin/env bash
# Rebuild every example in videos/ from the bundled agents (CPU is fine; over 20 minutes on 2
# cores, more on a busy machine). Each file is written under a temporary name beside its
# target and renamed only when complete, so an interrupted run leaves the old file in place;
# one line per file says what is being made, and one when it is done, with its time.
# AGENT picks the agent of the main examples (default: the trained Pong agent).
set -euo pipefail
cd "$(dirname "$0")/.."
RLVIZ="${RLVIZ:-.venv/bin/rlviz}"
AGENT="${AGENT:-agents/pong}"
NAME="$(basename "$AGENT")"
SEED="${SEED:-1}"  # reset seed of the examples (pong wins from every start 0-9, by 17 to 20 points)
mkdir -p videos
started=$SECONDS
count=0

# make TARGET... -- COMMAND...: run COMMAND with every TARGET in it replaced by a temporary
# name beside it with the same extension (the writers choose the format by it), then rename
# each to its TARGET; if COMMAND fails, print its log and leave every TARGET as it was.
make() {
    local targets=() args=() tmps=() a t i
    while [ "$1" != "--" ]; do targets+=("$1"); shift; done
    shift
    for t in "${targets[@]}"; do tmps+=("$(dirname "$t")/.partial-$(basename "$t")"); done
    for a in "$@"; do
        for i in "${!targets[@]}"; do
            [ "$a" = "${targets[$i]}" ] && a="${tmps[$i]}"
        done
        args+=("$a")
    done
    count=$((count + 1))
    echo "[$count] ${targets[*]} ..."
    local t0=$SECONDS log
    log="$(mktemp)"
    rm -f "${tmps[@]}"
    for t in "${targets[@]}"; do mkdir -p "$(dirname "$t")"; done
    if ! "${args[@]}" > "$log" 2>&1; then
        echo "[$count] ${targets[*]} FAILED after $((SECONDS - t0)) s; the previous files are untouched. Its output:" >&2
        cat "$log" >&2
        rm -f "${tmps[@]}" "$log"
        exit 1
    fi
    rm -f "$log"
    for i in "${!targets[@]}"; do mv -f "${tmps[$i]}" "${targets[$i]}"; done
    echo "[$count] ${targets[*]} done in $((SECONDS - t0)) s"
}
trap 'rm -f videos/.partial-* docs/faithfulness/.partial-*' EXIT

# The README's picture: one annotated still with all three explanations.
make videos/demo-frame.png -- $RLVIZ frame --agent "$AGENT" --seed "$SEED" --step 120 --explain saliency,lrp,interactions --out videos/demo-frame.png
# The Quick start demo: saliency and LRP side by side; 460 steps from seed 1 hold a lost point (245) and three won (293, 371, 449).
make videos/demo.mp4 -- $RLVIZ video --agent "$AGENT" --seed "$SEED" --explain saliency,lrp --frames 460 --out videos/demo.mp4 --quiet
# A GIF for slides.
make videos/demo.gif -- $RLVIZ video --agent "$AGENT" --seed "$SEED" --explain saliency --frames 150 --size 960x540 --no-cards --fps 20 --out videos/demo.gif --quiet
# Highlights of a whole game: clips around the three key moments.
make "videos/$NAME-highlights.mp4" -- $RLVIZ video --agent "$AGENT" --seed "$SEED" --explain saliency,lrp --frames 5000 --highlights 3 --out "videos/$NAME-highlights.mp4" --quiet
# Which regions the agent combines, frame by frame.
make "videos/$NAME-interactions.mp4" -- $RLVIZ video --agent "$AGENT" --seed "$SEED" --explain saliency,interactions --frames 200 --out "videos/$NAME-interactions.mp4" --quiet
# The other bundled games, once trained: the key moments of a whole game each.
for game in breakout spaceinvaders; do
    if [ -d "agents/$game" ]; then
        make "videos/$game-highlights.mp4" -- $RLVIZ video --agent "agents/$game" --seed "$SEED" --explain saliency,lrp --frames 5000 --highlights 3 --out "videos/$game-highlights.mp4" --quiet
    fi
done
# Learning over time: the early checkpoint beside the trained agent, from the same start.
if [ -d agents/pong-early ] && [ "$AGENT" != agents/pong-early ]; then
    make "videos/pong-early-vs-$NAME.mp4" -- $RLVIZ video --agent agents/pong-early --compare "$AGENT" --seed "$SEED" --frames 400 --out "videos/pong-early-vs-$NAME.mp4" --quiet
fi
# The overfit-agent experiment: the agent that copies the hint strip beside the control.
if [ -d agents/pong-overfit ] && [ -d agents/pong-control ]; then
    make docs/faithfulness/hints.json videos/pong-overfit-vs-control.mp4 -- $RLVIZ hints --overfit agents/pong-overfit \
        --control agents/pong-control --frames 300 --json docs/faithfulness/hints.json \
        --video videos/pong-overfit-vs-control.mp4 --video-frames 600
fi
# A what-if: the same start with a lazy opponent (docs/whatif.md).
if [ "$AGENT" = agents/pong ]; then
    make docs/whatif/pong-opponent-lazy.json videos/pong-whatif-lazy.mp4 -- $RLVIZ whatif --agent agents/pong \
        --edit opponent-lazy --episodes 3 --max-steps 3000 --threads 1 --quiet --json docs/whatif/pong-opponent-lazy.json \
        --video videos/pong-whatif-lazy.mp4 --video-start 500 --video-frames 300
fi
echo "made $count files in $((SECONDS - started)) s"
ls -la videos
