"""The network: how bytes reach other nodes, and who may reach this one (spec/link.md).

- :mod:`.transport`: the small interface links run over, and the in-memory one tests share;
- :mod:`.websocket`: the real transport, binary WebSocket messages over aiohttp;
- :mod:`.link`: a live link, the Noise XX session over one connection;
- :mod:`.linkkeys`: the node's link-key chain on disk;
- :mod:`.peerserver`: the peer endpoint (WebSocket sessions, the public card);
- :mod:`.admission`, :mod:`.limits`: who gets a connection on the peer port, for how long;
- :mod:`.discovery`: LAN discovery over mDNS/DNS-SD (a hint, never a key).

What a frame means once it arrives is not decided here: that is the node core's
(protocol/core/), which the daemon drives (node/daemon/).
"""
