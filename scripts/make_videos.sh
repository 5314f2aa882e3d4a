#!/usr/bin/env bash
# Rebuild every example in videos/ from the bundled agents (CPU is fine; about 15 minutes).
# AGENT picks the agent of the main examples (default: the trained Pong agent).
set -euo pipefail
cd "$(dirname "$0")/.."
RLVIZ=.venv/bin/rlviz
AGENT="${AGENT:-agents/pong}"
NAME="$(basename "$AGENT")"
SEED="${SEED:-1}"  # reset seed of the examples (pong wins from every start 0-9, by 17 to 20 points)
mkdir -p videos

# The README's picture: one annotated still with all three explanations.
$RLVIZ frame --agent "$AGENT" --seed "$SEED" --step 120 --explain saliency,lrp,interactions --out videos/demo-frame.png
# The Quick start demo: saliency and LRP side by side; 460 steps from seed 1 hold a lost point (245) and three won (293, 371, 449).
$RLVIZ video --agent "$AGENT" --seed "$SEED" --explain saliency,lrp --frames 460 --out videos/demo.mp4 --quiet
# A GIF for slides.
$RLVIZ video --agent "$AGENT" --seed "$SEED" --explain saliency --frames 150 --size 960x540 --no-cards --fps 20 --out videos/demo.gif --quiet
# Highlights of a whole game: clips around the three key moments.
$RLVIZ video --agent "$AGENT" --seed "$SEED" --explain saliency,lrp --frames 5000 --highlights 3 --out "videos/$NAME-highlights.mp4" --quiet
# Which regions the agent combines, frame by frame.
$RLVIZ video --agent "$AGENT" --seed "$SEED" --explain saliency,interactions --frames 200 --out "videos/$NAME-interactions.mp4" --quiet
# The other bundled games, once trained: the key moments of a whole game each.
for game in breakout spaceinvaders; do
    if [ -d "agents/$game" ]; then
        $RLVIZ video --agent "agents/$game" --seed "$SEED" --explain saliency,lrp --frames 5000 --highlights 3 --out "videos/$game-highlights.mp4" --quiet
    fi
done
# Learning over time: the early checkpoint beside the trained agent, from the same start.
if [ -d agents/pong-early ] && [ "$AGENT" != agents/pong-early ]; then
    $RLVIZ video --agent agents/pong-early --compare "$AGENT" --seed "$SEED" --frames 400 --out "videos/pong-early-vs-$NAME.mp4" --quiet
fi
# The overfit-agent experiment: the agent that copies the hint strip beside the control.
if [ -d agents/pong-overfit ] && [ -d agents/pong-control ]; then
    $RLVIZ hints --overfit agents/pong-overfit --control agents/pong-control --frames 300 \
        --json docs/faithfulness/hints.json --video videos/pong-overfit-vs-control.mp4 --video-frames 600
fi
ls -la videos
