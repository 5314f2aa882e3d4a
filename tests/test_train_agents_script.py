"""scripts/train_agents.sh `pick`: the snapshot with the best held-out score is the one bundled."""
import json
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_agents.sh"


def _pick(tmp_path: Path, first: int) -> subprocess.CompletedProcess:
    # Run only the script's pick function, with bundle and rlviz stubbed out: bundle prints what it got,
    # and rlviz (the evaluation of a snapshot without selection.json) writes a fixed score.
    fake_rlviz = tmp_path / "fake-rlviz"
    fake_rlviz.write_text('#!/usr/bin/env bash\nwhile [ "$1" != --json ]; do shift; done\necho \'{"mean": 7.5}\' > "$2"\n')
    fake_rlviz.chmod(0o755)
    program = (f'set -euo pipefail; cd "{SCRIPT.parents[1]}"; RLVIZ="{fake_rlviz}"; bundle() {{ echo "BUNDLE $1 $2"; }}; '
               f'source <(sed -n "/^pick()/,/^}}/p" "{SCRIPT}"); pick "{tmp_path}/run" si {first}')
    return subprocess.run(["bash", "-c", program], capture_output=True, text=True)


def _snapshot(tmp_path: Path, step: int, mean: float | None) -> None:
    folder = tmp_path / "run" / "snapshots" / f"step-{step}"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"")
    if mean is not None:
        (folder / "selection.json").write_text(json.dumps({"mean": mean}))


def test_pick_bundles_the_best_snapshot_from_the_first_step_on(tmp_path):
    for step, mean in [(50, 99.0), (100, 5.0), (200, 9.5), (300, None)]:  # 300 gets 7.5 from the stub
        _snapshot(tmp_path, step, mean)
    result = _pick(tmp_path, first=100)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"BUNDLE {tmp_path}/run/snapshots/step-200 si"
    assert json.loads((tmp_path / "run/snapshots/step-300/selection.json").read_text())["mean"] == 7.5
    assert "step 300: +7.5" in result.stderr


def test_pick_without_candidates_leaves_the_agent_alone(tmp_path):
    _snapshot(tmp_path, 50, 99.0)
    result = _pick(tmp_path, first=100)
    assert result.returncode == 1
    assert "BUNDLE" not in result.stdout
    assert "no snapshot from step 100 on" in result.stderr
