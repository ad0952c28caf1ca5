"""Intentcasting on the daemon: her castings, a vendor's inbox, a hub (spec/intents.md).

- :mod:`~amity.node.intents.service`: the Service of ``intent.*`` messages and the owner's
  commands (cast, accept, withdraw, subscribe, answer);
- :mod:`~amity.node.intents.roles`: the three roles' hosts and the carrier of their effects;
- :mod:`~amity.node.intents.casterlinks`, :mod:`~amity.node.intents.hublinks`: the pseudonymous
  links between her node (as an intent key) and hubs;
- :mod:`~amity.node.intents.records`: records as stored; :mod:`~amity.node.intents.config`: a
  hub's ``[hub]`` rules; :mod:`~amity.node.intents.api`: the local API.
"""
