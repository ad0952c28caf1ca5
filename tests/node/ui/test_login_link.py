"""``amity ui`` on a real daemon: the link it prints signs in once; a node that is not running
gets no link."""

from __future__ import annotations

import urllib.error
import urllib.request

from tests.node.conftest import NodeFactory, run_amity


def _open(url: str) -> tuple[int, str]:
    """GET ``url`` without following redirects: its status and Set-Cookie."""
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status, reply.headers.get("Set-Cookie", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Set-Cookie", "")


def test_amity_ui_prints_a_link_to_this_node_that_signs_in_once(nodes: NodeFactory) -> None:
    alice = nodes.create("alice")

    made = run_amity("ui", "--home", alice.home)

    assert made.returncode == 0, made.stderr
    url = made.stdout.splitlines()[0]
    assert url.startswith(f"{alice.api.base}/ui/login?token=")
    assert "signs you in once" in made.stdout
    status, cookie = _open(url)
    assert status == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert _open(url) == (403, "")


def test_amity_ui_says_the_node_is_not_running(nodes: NodeFactory) -> None:
    alice = nodes.create("alice", start=False)

    made = run_amity("ui", "--home", alice.home)

    assert made.returncode == 1
    assert "not running" in made.stderr
    assert made.stdout == ""
