"""The collector thresholds a simulation run uses, and that they are put back after it."""

from __future__ import annotations

import gc

import pytest

from amity.simulations.runs.collector import RUN_THRESHOLDS, run_collections


def test_a_run_collects_at_its_thresholds_and_restores_the_previous_ones() -> None:
    before = gc.get_threshold()
    with run_collections():
        assert gc.get_threshold() == RUN_THRESHOLDS
    assert gc.get_threshold() == before


def test_an_interrupted_run_restores_them_too() -> None:
    before = gc.get_threshold()
    with pytest.raises(KeyboardInterrupt), run_collections():
        raise KeyboardInterrupt
    assert gc.get_threshold() == before
