"""CRM webhooks (spec/webhooks.md): what each event says, the delivery policy from config.toml's
``[webhooks]`` table, and the local API routes. The queue is in the store
(:mod:`amity.node.store.webhooks`); the daemon task that delivers it is
:mod:`amity.node.daemon.webhooks`."""
