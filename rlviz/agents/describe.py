"""Describe a network built elsewhere (e.g. wrapped from Python) as an rlviz architecture.

``Agent(net)`` accepts any module; saving it needs a description rlviz can rebuild from
``agent.json``. :func:`describe_network` reads the module's tensors by structure
(:mod:`rlviz.agents.formats.structure`), rebuilds each fitting architecture and keeps the one
whose outputs equal the module's on random inputs, so a net whose forward does something
else with the same layers (an extra /255, another head combination) is refused, not mis-saved.
"""

from __future__ import annotations

from typing import Any

import torch

from rlviz.agents.formats.structure import CANDIDATES, candidates, recognise
from rlviz.util.errors import RlvizError

TOLERANCE = 1e-5


def _outputs(net: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        out = net(x)
    parts = list(out) if isinstance(out, (tuple, list)) else [out]
    return [p.reshape(p.shape[0], -1).float().cpu() for p in parts]


def describe_network(agent: Any) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(architecture description, state dict in rlviz's key names) for ``agent.net``."""
    state = {k: v.detach().cpu() for k, v in agent.net.state_dict().items()}
    found, _ = candidates(state, (agent.n_actions,))
    refusal = (
        "this agent's network has no architecture description and its layers do not form one rlviz "
        f"knows ({', '.join(CANDIDATES)}), so it cannot be rebuilt from a file; build it with rlviz.agents.networks"
    )
    if not found:
        raise RlvizError(refusal)
    x = torch.rand((3, *agent.env_spec.obs_shape), generator=torch.Generator().manual_seed(0))
    expected = _outputs(agent.net, x.to(agent.device))
    matches = []
    for arch in found:
        rebuilt = recognise(state, "the agent's network", n_actions=(agent.n_actions,), arch=arch)
        if rebuilt.kind != agent.kind:
            continue
        got = _outputs(rebuilt.net, x)
        if len(got) == len(expected) and all(
            g.shape == e.shape and torch.allclose(g, e, atol=TOLERANCE, rtol=TOLERANCE) for g, e in zip(got, expected)
        ):
            matches.append(rebuilt)
    if len(matches) != 1:
        raise RlvizError(
            f"this agent's network has the layers of {', '.join(found)} but its outputs match "
            f"{'none' if not matches else 'several'} of them on random inputs (does its forward divide by 255 "
            "or combine the heads differently?); build it with rlviz.agents.networks"
        )
    rebuilt = matches[0]
    return rebuilt.architecture, {k: v.contiguous() for k, v in rebuilt.net.state_dict().items()}
