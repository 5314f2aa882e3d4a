"""Agents: the :class:`Agent` wrapper, the networks rlviz builds, file formats (native, SB3,
CleanRL), loading, evaluation and model cards."""
