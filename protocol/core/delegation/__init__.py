"""The delegation service of the node core: fourth parties, agents that work for her.

Three roles, one module each: :mod:`~amity.protocol.core.delegation.her` (she gives and revokes
capabilities, and her node checks and carries out what an agent asks),
:mod:`~amity.protocol.core.delegation.agent` (the agent keeps what it was given, accepts it, asks
under it), :mod:`~amity.protocol.core.delegation.vendor` (a vendor checks the chain before it
holds what she granted on an agent's word). :mod:`~amity.protocol.core.delegation.records` holds
the records, effects and host protocol; :mod:`~amity.protocol.core.delegation.service` routes a
peer's ``delegate.*`` message. See spec/delegation.md.
"""
