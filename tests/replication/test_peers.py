"""Peer URLs, recognising ourselves, and peer-list changes (protocol.md §8.7)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from eureka.errors import BadInput
from eureka.replication.peers import (
    PeerSet,
    SelfIdentity,
    local_addresses,
    normalize_peer_url,
    parse_peer_url,
)

# An offline "DNS": names of this host, a peer, and a name that does not resolve.
ZONE = {
    "node1.example": ["10.0.0.1"],
    "node1-alias.example": ["10.0.0.1", "fd00::1"],
    "node2.example": ["10.0.0.2"],
    "localhost": ["127.0.0.1", "::1"],
    "dualstack.example": ["10.0.0.9", "::ffff:10.0.0.1"],
}


def resolver(host: str) -> Iterable[str]:
    try:
        return ZONE[host]
    except KeyError:
        raise OSError(f"cannot resolve {host}") from None


def me(my_url: str | None = None, port: int = 8761) -> SelfIdentity:
    return SelfIdentity(
        my_port=port, my_url=my_url, local_ips=["10.0.0.1", "fd00::1"], resolver=resolver
    )


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("http://node2.example:8761/eureka", "http://node2.example:8761/eureka/"),
        ("http://node2.example:8761/eureka/", "http://node2.example:8761/eureka/"),
        ("  HTTP://Node2.Example:8761/eureka//  ", "http://node2.example:8761/eureka/"),
        ("http://node2.example:8761", "http://node2.example:8761/"),
        ("https://user:Secret@node2.example/eureka/", "https://user:Secret@node2.example/eureka/"),
        ("http://[::1]:8761/eureka", "http://[::1]:8761/eureka/"),
    ],
)
def test_peer_urls_end_in_exactly_one_slash(raw: str, normalised: str) -> None:
    assert normalize_peer_url(raw) == normalised


def test_default_ports_are_filled_in_for_comparison() -> None:
    assert parse_peer_url("http://h/eureka").key == parse_peer_url("http://H:80/eureka/").key
    assert parse_peer_url("https://h/eureka").port == 443


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "node2:8761/eureka",
        "ftp://node2/eureka",
        "http:///eureka",
        "http://h:99999/",
        "http://h/?a=1",
    ],
)
def test_malformed_peer_urls_are_bad_input(bad: str) -> None:
    with pytest.raises(BadInput):
        parse_peer_url(bad)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8761/eureka/",
        "http://127.0.0.1:8761/eureka/",
        "http://127.0.1.1:8761/eureka/",  # Debian's /etc/hosts name for the host
        "http://[::1]:8761/eureka/",
        "http://0.0.0.0:8761/eureka/",
        "http://10.0.0.1:8761/eureka/",
        "http://node1.example:8761/eureka/",
        "http://node1-alias.example:8761/other-context/",
        "http://dualstack.example:8761/eureka/",  # IPv4-mapped IPv6 of a local address
    ],
)
def test_a_local_host_on_my_port_is_me(url: str) -> None:
    assert me().is_me(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8762/eureka/",  # a second node on the same machine
        "http://node1.example:8762/eureka/",
        "http://node2.example:8761/eureka/",
        "http://10.0.0.2:8761/eureka/",
        "http://unresolvable.example:8761/eureka/",
    ],
)
def test_other_hosts_or_ports_are_peers(url: str) -> None:
    assert not me().is_me(url)


def test_my_url_matches_after_normalisation_even_behind_a_proxy_port() -> None:
    identity = me(my_url="http://eureka-a.example/eureka", port=8761)
    assert identity.is_me("HTTP://Eureka-A.example:80/eureka/")
    assert not identity.is_me("http://eureka-a.example/other/")


def test_local_addresses_of_this_machine_include_loopback() -> None:
    addresses = local_addresses()
    assert "127.0.0.1" in addresses


def test_peer_set_drops_me_and_duplicates_and_diffs_by_url() -> None:
    identity = me()
    peers = PeerSet(
        identity.is_me,
        [
            "http://node2.example:8761/eureka",
            "http://localhost:8761/eureka/",
            "http://node2.example:8761/eureka/",
            "http://node3.example:8761/eureka/",
        ],
    )
    assert peers.urls == ("http://node2.example:8761/eureka/", "http://node3.example:8761/eureka/")
    new = ["http://node3.example:8761/eureka", "http://node4.example:8761/eureka"]
    assert peers.diff(new) == (
        ["http://node4.example:8761/eureka/"],
        ["http://node2.example:8761/eureka/"],
    )
    assert len(peers) == 2  # diff changes nothing
    assert peers.apply(new) == (
        ["http://node4.example:8761/eureka/"],
        ["http://node2.example:8761/eureka/"],
    )
    assert list(peers) == [
        "http://node3.example:8761/eureka/",
        "http://node4.example:8761/eureka/",
    ]
    assert "http://node4.example:8761/eureka/" in peers


def test_empty_resolution_keeps_the_old_peers_unless_told_otherwise() -> None:
    peers = PeerSet(me().is_me, ["http://node2.example:8761/eureka/"])
    assert peers.apply(["http://127.0.0.1:8761/eureka/"]) == ([], [])
    assert peers.urls == ("http://node2.example:8761/eureka/",)
    assert peers.apply([], keep_on_empty=False) == ([], ["http://node2.example:8761/eureka/"])
    assert len(peers) == 0


def test_a_malformed_url_changes_nothing() -> None:
    peers = PeerSet(me().is_me, ["http://node2.example:8761/eureka/"])
    with pytest.raises(BadInput):
        peers.apply(["http://node3.example:8761/eureka/", "not a url"])
    assert peers.urls == ("http://node2.example:8761/eureka/",)
