"""Run a Python script in a fresh interpreter under a chosen PYTHONHASHSEED.

Determinism tests use it: what a run computes must not move with the hash seed (set and dict
order of str and bytes keys), so the same script under two seeds must print the same thing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["ROOT", "run_with_hash_seed"]

#: The repository root: scripts run there, so ``tests.*`` imports resolve.
ROOT = Path(__file__).resolve().parents[1]


def run_with_hash_seed(script: str, hash_seed: str, *args: str, timeout_s: float = 300) -> str:
    """The standard output of ``python -c script *args`` under ``PYTHONHASHSEED=hash_seed``."""
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout_s,
    ).stdout
