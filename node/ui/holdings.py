""" "What do you hold about me?": her button on a relationship's page (POST).

Her node asks the peer's node (the grants service's holdings query, as ``POST
/api/holdings/{peer}/query`` and ``amity holdings`` do) and waits a little for the signed
statement. The answer is shown only once it checks out as ``amity holdings`` checks it: its
signature verifies, it is a holdings statement, signed by this peer, answering this question.
Each line is compared with her own record of that grant (statement_json): a grant she revoked,
that expired, or that she never gave is pointed out, and so is one she gave that is not listed.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from amity.node.api.keys import NODE
from amity.node.grants.api import GRANTS
from amity.node.grants.data import statement_json
from amity.node.store import HoldingsQueryRow
from amity.node.ui.actions import known_peer
from amity.node.ui.pages import granted, peer
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId
from amity.protocol.receipts import HoldingsStatement, decode_receipt

__all__ = ["ask_holdings", "checked_answer"]

#: How long her page waits for the peer's answer (seconds); then the question stays queued.
WAIT_S: Final = 10.0


def checked_answer(query: HoldingsQueryRow, who: PeerId, ours: dict[bytes, str]) -> dict[str, Any]:
    """The answer to ``query`` as her page shows it, with what was checked; ``problem`` says why
    an answer that came is not shown."""
    if query.statement is None:
        return statement_json(query, None, ours)
    try:
        statement = decode_receipt(query.statement)  # its signature is verified here
    except AmityError as exc:
        return {"answered": True, "verified": False, "problem": exc.message}
    if not isinstance(statement, HoldingsStatement) or statement.issuer != who:
        problem = "the answer is not a holdings statement signed by them"
        return {"answered": True, "verified": False, "problem": problem}
    if statement.query_id != query.query_id:
        problem = "the answer is to another question; ask again"
        return {"answered": True, "verified": False, "problem": problem}
    return {**statement_json(query, statement, ours), "at_ms": statement.at_ms}


async def ask_holdings(request: web.Request) -> web.Response:
    """Ask the peer; her relationship page again, with its checked answer (or why none came)."""
    who = known_peer(request, "Nothing was asked")
    node = request.config_dict[NODE]
    query = await request.config_dict[GRANTS].grantor.ask_holdings(who, WAIT_S)
    ours = {bytes.fromhex(g["grant_id"]): g["state"] for g in granted(node, who)}
    return await peer(request, holdings=checked_answer(query, who, ours))
