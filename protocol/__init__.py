"""amity.protocol: the sans-IO core (encoding, identity, envelopes, sessions, state machines).

Nothing here touches sockets, files, clocks, asyncio or global randomness: time comes in as an
int of milliseconds and randomness as bytes, so the daemon and the simulator drive the same code.
See spec/README.md.
"""

#: The package's version: pyproject.toml reads it from here (``[tool.setuptools.dynamic]``).
__version__ = "0.1.0"

#: The wire protocol version this core speaks (spec/versioning.md).
PROTOCOL_VERSION = 1

__all__ = ["PROTOCOL_VERSION", "__version__"]
