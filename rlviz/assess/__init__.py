"""Tests *of* explanations: pixel-flipping faithfulness, sanity checks (randomisation, input
invariance) and the overfit-agent hint experiment. Computes numbers; draws nothing."""
