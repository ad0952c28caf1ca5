"""Fourth parties on the daemon: the delegation service and its local API (spec/delegation.md)."""
