"""amity.protocol: the sans-IO core (encoding, identity, envelopes, sessions, state machines).

Nothing here touches sockets, files, clocks, asyncio or global randomness: time comes in as an
int of milliseconds and randomness as bytes, so the daemon and the simulator drive the same code.
See spec/README.md.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("amity")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

#: The wire protocol version this core speaks (spec/versioning.md).
PROTOCOL_VERSION = 1

__all__ = ["PROTOCOL_VERSION", "__version__"]
