"""Her dashboard: the node's own web pages, served on its local API's loopback address.

- :mod:`.app`: the pages' routes under ``/ui/``, mounted on the local API;
- :mod:`.session`: one-time login links and the sessions they open (in memory);
- :mod:`.login`: ``POST /api/ui/login`` (for ``amity ui``), the link's page, signing out;
- :mod:`.guard`: session and same-origin checks, and the security headers on every answer;
- :mod:`.pages` (GET) and :mod:`.actions` (POST), over the same services as the JSON API;
  :mod:`.holdings` ("what do you hold about me?"), :mod:`.audit` (her audit trail) and
  :mod:`.console` (a vendor's customers), :mod:`.overview` (her landing page), :mod:`.terms`, :mod:`.intents`,
  :mod:`.sharing` (grants from a relationship page) and
  :mod:`.reputation` (standing and why, reviews, answers, vouches) likewise;
- :mod:`.render` and :mod:`.words`: Jinja2 templates (``templates/``) and plain words;
- :mod:`.live`: the stream that tells an open page that something changed.

Server-rendered HTML with plain forms: every page works without script, and nothing is loaded
from another host. One first-party script, ``static/live.js`` (no inline script: the
Content-Security-Policy allows ``'self'`` only), refreshes the open page when the node reports a
change. Not htmx: that one job is 90 readable lines, and a vendored library would be a
dependency to audit and keep up for a page swap.
"""
