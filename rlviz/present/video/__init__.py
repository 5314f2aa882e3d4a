"""Annotated videos in three passes (play -> explain -> render and write), one module each.

The passes hand each other named records (:mod:`.records`): :class:`Step` from playing,
:class:`ExplainedStep` from explaining, :class:`VideoResult` at the end. :mod:`.api` wires them.
"""

from rlviz.present.video.api import make_comparison_video, make_video, render_still
from rlviz.present.video.records import ExplainedStep, VideoResult

__all__ = ["ExplainedStep", "VideoResult", "make_comparison_video", "make_video", "render_still"]
