"""``GET /api/customers/export``: what each customer granted this node, for which purpose and
until when, for a CRM to import (issue 21): one row per grant held, as CSV or JSON lines, in
grant-id order, read and streamed a page at a time (HoldingBook.pages) so that an export of any
size never sits in memory whole."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Final

from aiohttp import web

from amity.node.api.keys import NODE
from amity.node.grants.api import GRANTS
from amity.node.grants.data import held_json
from amity.protocol.errors import UsageError

__all__ = ["COLUMNS", "add_export_routes"]

#: The columns of an export, in order (a grant's fields are joined with ";" in CSV).
COLUMNS: Final = (
    "customer",
    "customer_name",
    "grant_id",
    "fields",
    "purpose",
    "context",
    "received",
    "not_after",
    "state",
    "deleted",
)
_TYPES: Final = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
_BATCH: Final = 500


def add_export_routes(app: web.Application) -> None:
    app.router.add_get("/api/customers/export", customers_export)


def _row(held: dict[str, Any]) -> dict[str, Any]:
    return {
        "customer": held["peer"],
        "customer_name": held["peer_name"],
        "grant_id": held["grant_id"],
        "fields": held["fields"],
        "purpose": held["purpose"],
        "context": held["context"],
        "received": held["received"],
        "not_after": held["not_after"],
        "state": held["state"],
        "deleted": held["deleted"],
    }


def _csv(rows: list[dict[str, Any]], header: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    if header:
        writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [";".join(row[c]) if c == "fields" else ("" if row[c] is None else row[c])
             for c in COLUMNS]
        )  # fmt: skip
    return out.getvalue()


async def customers_export(request: web.Request) -> web.StreamResponse:
    kind = request.query.get("format", "jsonl")
    if kind not in _TYPES:
        raise UsageError("format is csv or jsonl")
    node = request.config_dict[NODE]
    service = request.config_dict[GRANTS]
    now = node.clock_ms()
    response = web.StreamResponse(headers={"Content-Type": _TYPES[kind]})
    await response.prepare(request)
    first = True
    for page in service.holdings.pages(_BATCH):
        rows = [_row(held_json(node, h, now)) for h in page]
        if kind == "csv":
            text = _csv(rows, header=first)
        else:
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        first = False
        await response.write(text.encode("utf-8"))
    if kind == "csv" and first:  # no holdings: the header alone
        await response.write(_csv([], header=True).encode())
    await response.write_eof()
    return response
