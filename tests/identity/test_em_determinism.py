"""EM's fitted weights are the same in every process, whatever ``PYTHONHASHSEED`` is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import omnicrm

_SCRIPT = """
import sys
sys.path.insert(0, "benchmarks")
from _latin import generate_latin
from omnicrm.identity import estimate_weights
config = estimate_weights([labelled.record for labelled in generate_latin(2_000, seed=5)])
print(repr(sorted((f, sorted(levels.items())) for f, levels in config.weights.items())))
"""


def _fitted(hash_seed: str) -> str:
    root = Path(__file__).resolve().parents[2]
    source = str(Path(omnicrm.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    env["PYTHONPATH"] = os.pathsep.join([source, str(root), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, cwd=root, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_fitted_weights_do_not_depend_on_the_hash_seed() -> None:
    # sets of level names iterate in another order under another seed; the fit must not
    # follow that order, or a pair scored near a threshold is decided differently
    assert _fitted("1") == _fitted("2") == _fitted("3")
