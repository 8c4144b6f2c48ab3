"""The chunked document: blocks of instances found again by identity, gzip from their chunks.

A model registry (applications of leases whose revision moves like the registry's) goes through
random changes; after each build the gzip must inflate, as one strict gzip member, to exactly the
text the model describes, and the work must stay proportional to what changed.
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass, field

import pytest

from eureka.model import InstanceInfo
from eureka.registry.chunked_document import BLOCK_SIZE, ChunkedDocument
from eureka.registry.lease import Lease

EXPIRY_MS = 180_000


def _single_member(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = decompressor.decompress(data) + decompressor.flush()
    assert decompressor.eof and decompressor.unused_data == b""
    return out


@dataclass
class Counters:
    app_encodes: int = 0
    gzip_chunks: int = 0
    encoded: list[str] = field(default_factory=list)


class Model:
    """Applications of leases in order, and the revision counter every change bumps."""

    def __init__(self) -> None:
        self.apps: dict[str, list[Lease]] = {}
        self.app_revision: dict[str, int] = {}
        self.revision = 0
        self.serial = 0

    def _touch(self, app: str, lease: Lease | None = None) -> None:
        self.revision += 1
        if lease is not None:
            lease.revision = self.revision
        self.app_revision[app] = self.revision

    def lease(self, app: str) -> Lease:
        self.serial += 1
        lease = Lease(InstanceInfo(app=app, instance_id=f"{app}-{self.serial}"), 90, 0)
        return lease

    def add(self, app: str, count: int = 1) -> None:
        leases = self.apps.setdefault(app, [])
        for _ in range(count):
            lease = self.lease(app)
            leases.append(lease)
            self._touch(app, lease)

    def modify(self, app: str, index: int) -> None:
        self._touch(app, self.apps[app][index])

    def replace(self, app: str, index: int) -> None:
        """A re-registration: a new lease in the same place."""
        old = self.apps[app][index]
        new = Lease(old.holder, 90, 0)
        self.apps[app][index] = new
        self._touch(app, new)

    def remove(self, app: str, index: int) -> None:
        del self.apps[app][index]
        if not self.apps[app]:
            del self.apps[app]
            del self.app_revision[app]
        else:
            self._touch(app)

    def items(self) -> list[tuple[str, object]]:
        return [(app, self.app_revision[app]) for app in self.apps]

    def text(self, head: bytes, tail: bytes) -> bytes:
        return (
            head
            + b";".join(
                app.encode() + b"=" + b",".join(_fragment(lease) for lease in leases) + b"."
                for app, leases in self.apps.items()
            )
            + tail
        )


def _fragment(lease: Lease) -> bytes:
    # Long enough that a block's last kilobyte (its successor's dictionary) is a few instances.
    return f"<{lease.holder.id}@{lease.revision}:{'x' * 200}>".encode()


def _join(name: str, fragments: list[bytes], *, first: bool, opens: bool, closes: bool) -> bytes:
    opening = (b"" if first else b";") + name.encode() + b"=" if opens else b","
    return opening + b",".join(fragments) + (b"." if closes else b"")


def _document(counters: Counters) -> ChunkedDocument:
    def encode(lease: Lease) -> bytes:
        counters.encoded.append(lease.holder.id)
        return _fragment(lease)

    return ChunkedDocument(encode, _join, counters, level=6, expiry_ms=EXPIRY_MS)


def _build(document: ChunkedDocument, model: Model, now_ms: int = 0) -> bytes:
    head, tail = f"[r={model.revision}|".encode(), b"]"
    body = _single_member(document.build(head, tail, model.items(), model.apps.__getitem__, now_ms))
    assert body == model.text(head, tail)
    return body


@pytest.mark.parametrize("seed", range(12))
def test_random_changes_always_build_exactly_the_model_and_blocks_stay_bounded(seed: int) -> None:
    rng = random.Random(seed)
    model, counters = Model(), Counters()
    document = _document(counters)
    for app in ("A", "B", "C"):
        model.add(app, rng.randint(1, 150))
    _build(document, model)
    for _ in range(150):
        for _ in range(rng.randint(1, 4)):
            kind = rng.random()
            apps = list(model.apps)
            app = rng.choice(apps) if apps else "A"
            size = len(model.apps.get(app, []))
            if kind < 0.25 or not size:
                model.add(rng.choice([app, app, "D", "E"]), rng.randint(1, 40))
            elif kind < 0.5:
                model.modify(app, rng.randrange(size))
            elif kind < 0.65:
                model.replace(app, rng.randrange(size))
            elif kind < 0.97:
                model.remove(app, rng.randrange(size))
            else:
                for _ in range(size):
                    model.remove(app, 0)  # the whole application (maybe the first one) goes
        _build(document, model)
        bound = sum(2 * math.ceil(len(leases) / BLOCK_SIZE) + 1 for leases in model.apps.values())
        assert document.block_count() <= bound


def test_one_change_encodes_one_block_and_deflates_at_most_three() -> None:
    model, counters = Model(), Counters()
    document = _document(counters)
    model.add("A", 10)
    model.add("BIG", 10 * BLOCK_SIZE)
    model.add("C", 10)
    _build(document, model)
    assert document.block_count() == 12
    for change in (
        lambda: model.modify("BIG", 100),
        lambda: model.replace("BIG", 5),
        lambda: model.remove("BIG", 200),
        lambda: model.add("BIG"),
        lambda: model.modify("A", 3),
        lambda: model.add("D"),
    ):
        encodes, chunks = len(counters.encoded), counters.gzip_chunks
        change()
        _build(document, model)
        # The block the change is in (an append: the last block, which closed the application,
        # plus the new instance, maybe split in two), and the next block re-primed.
        assert len(counters.encoded) - encodes <= BLOCK_SIZE + 1
        assert counters.gzip_chunks - chunks <= 3


def test_a_change_in_the_text_that_primes_the_next_block_reprimes_it_without_encoding() -> None:
    model, counters = Model(), Counters()
    document = _document(counters)
    model.add("A", BLOCK_SIZE)
    model.add("B", BLOCK_SIZE)
    _build(document, model)
    encodes, chunks = len(counters.encoded), counters.gzip_chunks
    model.modify("A", BLOCK_SIZE - 1)  # the last instance of A: B's dictionary
    _build(document, model)
    assert len(counters.encoded) - encodes == BLOCK_SIZE  # A's block only
    assert counters.gzip_chunks - chunks == 2  # A's block, and B's again with its new dictionary
    encodes, chunks = len(counters.encoded), counters.gzip_chunks
    model.modify("A", 0)  # far from B: B's chunk stays
    _build(document, model)
    assert (len(counters.encoded) - encodes, counters.gzip_chunks - chunks) == (BLOCK_SIZE, 1)


def test_unchanged_applications_are_not_looked_at_and_cost_nothing() -> None:
    model, counters = Model(), Counters()
    document = _document(counters)
    for app in "ABCDEFGH":
        model.add(app, 50)
    first = _build(document, model)
    encodes, chunks, apps = len(counters.encoded), counters.gzip_chunks, counters.app_encodes
    assert _build(document, model) == first
    assert (len(counters.encoded), counters.gzip_chunks, counters.app_encodes) == (
        encodes,
        chunks,
        apps,
    )


def test_blocks_expire_spread_over_the_last_quarter_of_the_expiry() -> None:
    model, counters = Model(), Counters()
    document = _document(counters)
    for app in "ABCDEFGHIJ":
        model.add(app, 4 * BLOCK_SIZE)
    _build(document, model, now_ms=0)
    total = len(counters.encoded)
    _build(document, model, now_ms=EXPIRY_MS * 3 // 4 - 1)
    assert len(counters.encoded) == total  # nothing is due before three quarters
    _build(document, model, now_ms=EXPIRY_MS * 7 // 8)
    some = len(counters.encoded) - total
    assert 0 < some < total  # some blocks, not all at once
    _build(document, model, now_ms=EXPIRY_MS)
    # By the expiry every block was encoded again, each exactly once.
    assert len(counters.encoded) == 2 * total
    assert sorted(counters.encoded[total:]) == sorted(counters.encoded[:total])
