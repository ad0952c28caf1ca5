"""``python -m amity.simulations``: the same as ``amity-sim``."""

from amity.simulations.cli import console

console()
