"""The local API's proof of the token: bound to the nonce, the token and the listening address."""

from __future__ import annotations

import pytest

from amity.node.api.proof import NONCE_BYTES, channel_of, new_nonce, proof, proof_matches
from amity.node.cli.client import parse_hostport


def test_channel_names_the_listening_address() -> None:
    assert channel_of(("127.0.0.1", 8080)) == "tcp:127.0.0.1:8080"
    assert channel_of(("::1", 8080, 0, 0)) == "tcp:::1:8080"
    assert channel_of(("::ffff:127.0.0.1", 8080, 0, 0)) == "tcp:127.0.0.1:8080"
    assert channel_of("/home/a/api.sock") == "unix:/home/a/api.sock"
    assert channel_of(b"/home/a/api.sock") == "unix:/home/a/api.sock"
    with pytest.raises(ValueError):
        channel_of(None)


def test_a_proof_holds_only_for_its_token_nonce_and_channel() -> None:
    nonce = new_nonce()
    assert len(nonce) == NONCE_BYTES
    good = proof("token", nonce, "tcp:127.0.0.1:8080")
    assert proof_matches(good, "token", nonce, "tcp:127.0.0.1:8080")
    assert not proof_matches(good, "other token", nonce, "tcp:127.0.0.1:8080")
    assert not proof_matches(good, "token", new_nonce(), "tcp:127.0.0.1:8080")
    # a real node's proof, relayed by an impostor at another address, does not pass
    assert not proof_matches(good, "token", nonce, "tcp:127.0.0.1:8081")
    assert not proof_matches(good, "token", nonce, "unix:/home/a/api.sock")
    for junk in (None, 0, b"", good.encode(), ["x"], "00" * 32):
        assert not proof_matches(junk, "token", nonce, "tcp:127.0.0.1:8080")


def test_the_cli_dials_a_node_bound_to_every_address_on_loopback() -> None:
    assert parse_hostport("0.0.0.0:5000") == ("127.0.0.1", 5000)
    assert parse_hostport("[::]:5000") == ("::1", 5000)
    assert parse_hostport("[::1]:5000") == ("::1", 5000)
    assert parse_hostport("127.0.0.1:5000") == ("127.0.0.1", 5000)
    with pytest.raises(ValueError):
        parse_hostport("127.0.0.1")
