"""The simulated world every scenario runs in: the virtual clock, the network, churn, random streams.

``engine`` (the clock and its heap of timed callbacks), ``streams`` (named seeded random streams),
``distributions`` (durations drawn from those streams), ``network`` (hosts, connections, latency,
loss, partitions) and ``churn`` (hosts going offline and back). Nothing here knows amity's protocol.
"""
