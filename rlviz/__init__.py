"""rlviz: see what Atari reinforcement-learning agents look at and why they act.

    >>> import rlviz
    >>> agent = rlviz.load_agent("agents/pong-early")
    >>> env = rlviz.make_env(agent.env_spec)
    >>> obs, _ = env.reset(seed=0)
    >>> sal = rlviz.perturbation_saliency(agent, obs)      # where it looks
    >>> rel = rlviz.lrp(agent, obs)                        # what pushed its move
    >>> ig = rlviz.attribute(agent, obs, method="integrated-gradients", target="contrast")
    >>> pairs = rlviz.policy_interactions(agent, top_k=3)  # which regions it combines
    >>> objects = rlviz.find_objects(obs, rlviz.background(agent), agent.env_spec.game)
    >>> rlviz.top_objects(rel[0], objects)                 # [("agent's paddle", 0.6), ...]
    >>> rlviz.make_video(agent, "runs/pong.mp4", frames=100, explain="saliency,lrp")
"""

from rlviz.agents.agent import Agent
from rlviz.agents.evaluate import evaluate
from rlviz.agents.loading import load_agent
from rlviz.assess.objects import object_report
from rlviz.assess.overfit import hint_experiment
from rlviz.assess.summary_run import SummaryResult, summarize
from rlviz.assess.whatif import what_if
from rlviz.explain.interactions import neuron_interactions
from rlviz.explain.interactions_cnn import frame_interactions, policy_interactions
from rlviz.explain.lrp import lrp
from rlviz.explain.objects import (
    background,
    find_objects,
    object_saliency,
    object_shares,
    top_objects,
)
from rlviz.explain.perturbation import perturbation_saliency
from rlviz.explain.registry import attribute, methods_table
from rlviz.play.envs import EnvSpec, make_env
from rlviz.present.assessment_reports import faithfulness_report, sanity_report
from rlviz.present.report import ReportResult, make_report
from rlviz.present.summary_report import write_summary
from rlviz.present.video import make_comparison_video, make_video, render_still
from rlviz.present.whatif_video import make_whatif_video
from rlviz.util.errors import RlvizError

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "EnvSpec",
    "ReportResult",
    "RlvizError",
    "SummaryResult",
    "__version__",
    "background",
    "attribute",
    "evaluate",
    "faithfulness_report",
    "find_objects",
    "frame_interactions",
    "hint_experiment",
    "load_agent",
    "lrp",
    "make_comparison_video",
    "make_env",
    "make_report",
    "make_video",
    "make_whatif_video",
    "methods_table",
    "neuron_interactions",
    "object_report",
    "object_saliency",
    "object_shares",
    "perturbation_saliency",
    "policy_interactions",
    "render_still",
    "sanity_report",
    "summarize",
    "top_objects",
    "what_if",
    "write_summary",
]
