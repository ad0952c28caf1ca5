"""Things she owns, on the node (spec/things.md §3).

- :mod:`.book`: the things her node keeps: each thing's key (its seed sealed with the vault key)
  and its signed card;
- :mod:`.api`: ``/api/things`` on the local API.
"""
