"""Playing the game: env specs and pipelines (gymnasium, SB3, CleanRL), hint strips, rollouts
and exact replays. The bottom of the data flow: it knows nothing of networks or explanations."""
