"""Pages from Jinja2 templates (autoescaped), shipped in this package's ``templates/`` folder.

The environment is made at the first page, not at import: a daemon that nobody opens the
dashboard of never loads Jinja2.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from aiohttp import web

from amity.node.ui import words

if TYPE_CHECKING:
    import jinja2

__all__ = ["page"]

_TEMPLATES: Final = Path(__file__).parent / "templates"


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=words.when,
        when_iso=words.when_iso,
        change=words.change_words,
        held_words=words.held_words,
        state=words.state_words,
        purpose=words.purpose_words,
        clause=words.clause_words,
        verdict=words.verdict_words,
        # A path segment: a did:key has colons.
        segment=lambda text: quote(str(text), safe=""),
    )
    env.globals["until"] = words.until
    return env


def page(template: str, *, status: int = 200, **context: Any) -> web.Response:
    """``template`` rendered with ``context`` as an HTML response."""
    text = _environment().get_template(template).render(**context)
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
