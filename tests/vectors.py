"""The one loader for spec/vectors/*.json, so every vector becomes one named test.

Usage in a test module::

    @pytest.mark.parametrize("vector", **vector_cases("envelope"))
    def test_envelope_vector(vector): ...

Every file has ``title``, ``spec`` and ``vectors``; each vector has ``name``, ``description`` and
either ``error`` (the AmityError code it must raise) or the expected outputs. See spec/vectors/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).resolve().parent.parent / "spec" / "vectors"


def load_vector_file(name: str) -> dict[str, Any]:
    with (VECTOR_DIR / f"{name}.json").open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    assert data["vectors"], f"spec/vectors/{name}.json holds no vectors"
    return data


def vector_cases(name: str, *, error: bool | None = None) -> dict[str, Any]:
    """``parametrize`` keyword arguments: one case per vector, id = the vector's name.

    ``error=True`` keeps only negative vectors, ``error=False`` only positive ones.
    """
    vectors = load_vector_file(name)["vectors"]
    if error is not None:
        vectors = [v for v in vectors if ("error" in v) == error]
    assert vectors, f"no {'negative' if error else 'positive'} vectors in {name}.json"
    return {"argvalues": vectors, "ids": [v["name"] for v in vectors]}


def unhex(vector: dict[str, Any], key: str) -> bytes:
    return bytes.fromhex(vector[key])


def vector_bytes(vector: dict[str, Any], stem: str) -> bytes:
    """``<stem>_hex``, or ``<stem>_parts`` concatenated: each ``{bytes_hex}`` or
    ``{repeat_hex, count}`` (spec/vectors/README.md)."""
    if f"{stem}_hex" in vector:
        return unhex(vector, f"{stem}_hex")
    out = bytearray()
    for part in vector[f"{stem}_parts"]:
        if "repeat_hex" in part:
            out += bytes.fromhex(part["repeat_hex"]) * part["count"]
        else:
            out += bytes.fromhex(part["bytes_hex"])
    return bytes(out)
