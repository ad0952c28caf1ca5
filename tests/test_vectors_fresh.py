"""spec/vectors/*.json are exactly what spec/tools/make_vectors.py builds today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_vectors_are_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "spec" / "tools" / "make_vectors.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        "spec/vectors is stale: run `python spec/tools/make_vectors.py` and commit the result\n"
        + result.stdout
        + result.stderr
    )
