"""Training agents to explain: PPO on Atari (see :mod:`rlviz.train.ppo`)."""
