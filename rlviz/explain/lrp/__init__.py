"""Layer-wise relevance propagation for policy networks (DESIGN.md §5).

    >>> from rlviz.explain.lrp import lrp
    >>> maps = lrp(agent, obs)              # (N, 4, 84, 84) float32, epsilon-gamma-box

rules.py holds the rules, composites.py which rule goes on which layer, canonizers.py the
BatchNorm fold, attribution.py the hooks and the user-facing ``lrp``.
"""

from rlviz.explain.lrp.attribution import lrp, relevance
from rlviz.explain.lrp.composites import (
    COMPOSITES,
    REFERENCE_COMPOSITES,
    Composite,
    make_composite,
)

__all__ = ["COMPOSITES", "REFERENCE_COMPOSITES", "Composite", "lrp", "make_composite", "relevance"]
