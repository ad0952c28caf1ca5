"""Regenerate spec/vectors/<topic>.json from spec/tools/vectors_<topic>.py.

Each ``vectors_<topic>.py`` module defines ``build() -> dict`` returning the whole file: ``title``,
``spec`` (the Markdown file it illustrates), ``notes`` and ``vectors``. All inputs are fixed (keys
as hex seeds, nonces, times, ephemeral keys), so the output is byte-identical on every run; the
test suite regenerates every file and fails if it differs from what is checked in.

    python spec/tools/make_vectors.py            # rewrite all files
    python spec/tools/make_vectors.py --check    # exit 1 if any file is stale
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

TOOLS = Path(__file__).resolve().parent
VECTORS = TOOLS.parent / "vectors"


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def builders() -> dict[str, Any]:
    found = {}
    for path in sorted(TOOLS.glob("vectors_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[path.stem.removeprefix("vectors_")] = module.build
    return found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args()
    stale = []
    for topic, build in builders().items():
        target = VECTORS / f"{topic}.json"
        text = render(build())
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target.name)
        if not args.check:
            target.write_text(text, encoding="utf-8")
    verb = "stale" if args.check else "rewritten"
    print(f"{verb}: {', '.join(stale) if stale else 'none'}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
