"""amity.node: the daemon (storage, transport, discovery, local API, CLI). The only place with I/O."""
