"""The local API: HTTP + JSON on loopback for the CLI and any dashboard (never for peers).

- :mod:`.app`: the application (status, relationships, messages, events) that mounts each
  feature room's routes (``amity.node.terms.api``, ``.grants.api``, ``.reputation.api``);
- :mod:`.guard`: which requests it takes at all (its own Host and Origin);
- :mod:`.proof`: the proof that it holds the token, before a client sends it;
- :mod:`.jsonio`: one error shape and one way to read a request body, for every route module;
- :mod:`.openapi`: its OpenAPI document; :mod:`.card`: a peer card's policy as JSON.

This file imports nothing: the CLI uses :mod:`.proof` and :mod:`.card` without loading aiohttp.
"""
