"""Which remote address a connection counts against in the stranger budget."""

from __future__ import annotations

import pytest

from amity.node.net.admission import _address


@pytest.mark.parametrize(
    ("host", "counted_as"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # same /64: one subscriber
        ("::ffff:192.0.2.7", "192.0.2.7"),  # an IPv4 client on a dual-stack socket
        ("::1", "::1"),
        ("fe80::1%eth0", "fe80::/64"),
    ],
)
def test_ipv6_hosts_count_by_their_64(host: str, counted_as: str) -> None:
    assert _address(host) == counted_as
