"""The peer list (protocol.md §8.7): peer URLs, recognising ourselves, and list changes.

A peer URL is a service URL such as `http://host:8761/eureka/`; Java appends
`peerreplication/batch/` to it verbatim, so it is normalised to end with exactly one `/`.

Java decides "this is me" by an exact string match with `eureka.myUrl`, or else by comparing the
URL's host with its own host name — so `localhost`, an IP, or a second name of the same machine
slip through and the node replicates to itself. We treat a URL as ours if it equals our own URL
(after normalisation), or if its host resolves to an address of this machine (loopback, the
unspecified address, or any interface address) **and** its port is the port we listen on. Name
resolution and the set of local addresses are injected, so the decision is testable offline;
`system_resolver` and `local_addresses` are the real-world defaults.
"""

from __future__ import annotations

import ipaddress
import itertools
import socket
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from eureka.errors import BadInput

__all__ = [
    "PeerSet",
    "PeerUrl",
    "Resolver",
    "SelfIdentity",
    "local_addresses",
    "normalize_peer_url",
    "parse_peer_url",
    "system_resolver",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}

# host → its IP addresses as strings; raises OSError when the name does not resolve.
Resolver = Callable[[str], Iterable[str]]


class PeerUrl(NamedTuple):
    url: str  # normalised: lower-case scheme and host, path ending in one '/'
    scheme: str
    host: str
    port: int
    path: str

    @property
    def key(self) -> tuple[str, str, int, str]:
        """Identity for comparisons: `http://h/eureka` equals `http://H:80/eureka/`."""
        return (self.scheme, self.host, self.port, self.path)


def parse_peer_url(url: str) -> PeerUrl:
    text = url.strip()
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError:
        raise BadInput(f"invalid peer URL {text[:100]!r}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise BadInput(f"peer URL must be http(s)://host[:port]/path, got {text[:100]!r}")
    if parts.query or parts.fragment:
        raise BadInput(f"peer URL must not have a query or fragment: {text[:100]!r}")
    host = parts.hostname.lower()
    path = parts.path.rstrip("/") + "/"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    userinfo = parts.netloc[: len(parts.netloc) - len(netloc)]
    # Keep user:password@ (Spring Cloud puts basic-auth credentials in service URLs, §2.1).
    normalised = urllib.parse.urlunsplit((scheme, userinfo + netloc.lower(), path, "", ""))
    return PeerUrl(normalised, scheme, host, port or _DEFAULT_PORTS[scheme], path)


def normalize_peer_url(url: str) -> str:
    return parse_peer_url(url).url


def system_resolver(host: str) -> list[str]:
    """All addresses `host` resolves to (blocking getaddrinfo; call it off the event loop)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]).split("%", 1)[0] for info in infos})


def _proc_addresses() -> set[str]:
    """Interface addresses from Linux's /proc (absent elsewhere: then names and routes suffice)."""
    found: set[str] = set()
    try:
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
    except OSError:
        lines = []
    for previous, line in itertools.pairwise(lines):
        if line.strip() == "/32 host LOCAL" and "|--" in previous:
            found.add(previous.split("|--", 1)[1].strip())
    try:
        for row in Path("/proc/net/if_inet6").read_text().splitlines():
            raw = row.split()[0]
            found.add(str(ipaddress.IPv6Address(int(raw, 16))))
    except (OSError, ValueError, IndexError):
        pass
    return found


def _route_addresses() -> set[str]:
    """The source address the kernel would use towards the outside (no packet is sent)."""
    found: set[str] = set()
    for family, target in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((target, 9))
                found.add(str(probe.getsockname()[0]))
        except OSError:
            continue
    return found


def local_addresses(resolver: Resolver = system_resolver) -> frozenset[str]:
    """Addresses of this machine: its names' addresses, routing source addresses, interfaces."""
    found = _proc_addresses() | _route_addresses()
    for name in {socket.gethostname(), socket.getfqdn(), "localhost"}:
        try:
            found.update(resolver(name))
        except OSError:
            continue
    return frozenset(found)


def _canonical_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class SelfIdentity:
    """Answers "is this peer URL me?" for a node listening on `my_port`."""

    def __init__(
        self,
        *,
        my_port: int,
        my_url: str | None = None,
        local_ips: Iterable[str] = (),
        resolver: Resolver = system_resolver,
    ) -> None:
        self.my_port = my_port
        self.my_url = None if my_url is None else parse_peer_url(my_url)
        self._local = {ip for ip in map(_canonical_ip, local_ips) if ip is not None}
        self._resolver = resolver

    def _is_local(self, text: str) -> bool:
        address = _canonical_ip(text)
        if address is None:
            return False
        return address.is_loopback or address.is_unspecified or address in self._local

    def is_me(self, url: str | PeerUrl) -> bool:
        peer = url if isinstance(url, PeerUrl) else parse_peer_url(url)
        if self.my_url is not None and peer.key == self.my_url.key:
            return True
        if peer.port != self.my_port:
            return False
        if self._is_local(peer.host.strip("[]")):
            return True
        try:
            addresses = list(self._resolver(peer.host))
        except (OSError, UnicodeError):
            # A name that does not resolve now cannot be us; it is kept as a peer and retried.
            return False
        return any(self._is_local(address) for address in addresses)


class PeerSet:
    """The current peers (normalised URLs, ourselves excluded), updated by URL difference."""

    def __init__(self, is_me: Callable[[PeerUrl], bool], urls: Iterable[str] = ()) -> None:
        self._is_me = is_me
        self._urls: tuple[str, ...] = ()
        self.apply(urls)

    @property
    def urls(self) -> tuple[str, ...]:
        return self._urls

    def resolve(self, urls: Iterable[str]) -> list[str]:
        """Normalise, de-duplicate (first occurrence wins) and drop ourselves; BadInput on a
        malformed URL, leaving the set untouched."""
        result: list[str] = []
        seen: set[tuple[str, str, int, str]] = set()
        for url in urls:
            peer = parse_peer_url(url)
            if peer.key in seen or self._is_me(peer):
                continue
            seen.add(peer.key)
            result.append(peer.url)
        return result

    def diff(self, new_urls: Iterable[str]) -> tuple[list[str], list[str]]:
        """(added, removed) if the peer list became `new_urls`; changes nothing."""
        new = self.resolve(new_urls)
        old = set(self._urls)
        kept = set(new)
        return [u for u in new if u not in old], [u for u in self._urls if u not in kept]

    def apply(
        self, new_urls: Iterable[str], *, keep_on_empty: bool = True
    ) -> tuple[list[str], list[str]]:
        """Adopt `new_urls`; returns (added, removed). Like Java (`PeerEurekaNodes`), an empty
        resolution keeps the old list — a DNS hiccup must not disconnect the cluster."""
        new = self.resolve(new_urls)
        if not new and keep_on_empty and self._urls:
            return [], []
        old = set(self._urls)
        kept = set(new)
        added = [u for u in new if u not in old]
        removed = [u for u in self._urls if u not in kept]
        self._urls = tuple(new)
        return added, removed

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and url in self._urls

    def __iter__(self) -> Iterator[str]:
        return iter(self._urls)

    def __len__(self) -> int:
        return len(self._urls)
