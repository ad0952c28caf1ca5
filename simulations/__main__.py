"""``python -m amity.simulations``: the same as ``amity-sim``."""

import sys

from amity.simulations.cli import main

sys.exit(main())
