"""Loading and saving agents: rlviz's native folder format, SB3 / RL Zoo zips, CleanRL state dicts."""

from rlviz.agents.formats.cleanrl import load_cleanrl
from rlviz.agents.formats.native import load_native, save_native
from rlviz.agents.formats.sb3 import load_sb3

__all__ = ["load_cleanrl", "load_native", "load_sb3", "save_native"]
