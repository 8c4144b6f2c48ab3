"""A registry document kept as compressed blocks of instances: a change costs what it changed.

The full registry is a head, one run of text per application and a tail; the response cache builds
its gzip (protocol.md §7) from this module. Each application's instances are cut into *blocks* of
at most `BLOCK_SIZE` consecutive instances. A block is encoded once, deflated once (primed with the
last `DICTIONARY` bytes of the text before it, see `gzip_chunks`) and its CRC-32 taken once; then
only its chunk, CRC, length and those last bytes are kept, never its text. A build is

    gzip header + stored head + the blocks' chunks + stored tail (final) + combined CRC and length

so after one change it encodes and deflates the one block that holds the changed instance, and
joins the chunks. What a build costs beyond that is a loop over the applications (to read their
revisions and combine their CRCs) and the join of the compressed bytes: no encoding, deflate or CRC
work proportional to the registry. The head (which carries the hash code) and the tail change on
every build; they are tiny, so they go in uncompressed.

Blocks are found again by identity, not position: a rebuilt application's lease list is matched
against its old blocks (same leases in the same order at unchanged revisions), so a cancellation
re-encodes the block it was in, an append the last block, and nothing else. A block whose
predecessor's last bytes changed keeps its text: it is inflated from its own chunk and deflated
again with the new dictionary. The identity (uncompressed) body is never built here; the cache
inflates the gzip when a client without gzip asks (which is byte for byte the same text).

Why no encoded fragments are kept: they are about 850 bytes per instance and variant — more than
the whole rest of a registered instance — where a block costs about 80 bytes per instance. The
price is that a change re-encodes up to `BLOCK_SIZE` instances instead of one (about 0.3 ms).

Lease timestamps move without a revision (renewals), so a block expires `expiry_ms` after it was
encoded at the latest (the response cache's auto-expiration: timestamps lag by no more than that).
Each block's deadline is set a little earlier by a deterministic spread of up to a quarter of the
expiry, so that after a mass registration the blocks do not all come due in the same build.

Pure: no clock (callers pass `now_ms`), no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Protocol

from eureka.registry.gzip_chunks import (
    GZIP_HEADER,
    crc32,
    crc32_combine,
    deflate_chunk,
    gzip_trailer,
    inflate_chunk,
    stored_block,
)
from eureka.registry.lease import Lease

__all__ = [
    "BLOCK_SIZE",
    "DICTIONARY",
    "ChunkedDocument",
    "DocumentCounters",
    "RunJoiner",
]

# Instances per block: the unit of re-encoding. 32 costs ~0.3 ms to encode and deflate, and
# compresses within 3 % of one deflate stream over the whole document (measured, 10k instances).
BLOCK_SIZE = 32
# How much of the preceding text primes a block's chunk: about one instance; a longer dictionary
# gains nothing measurable (26.8 B/instance at 1 KiB and at 32 KiB; 41.8 without).
DICTIONARY = 1024
# Golden-ratio steps spread block deadlines evenly over the last quarter of the expiry.
_SPREAD = 0.6180339887498949


class RunJoiner(Protocol):
    """`application_run` of a codec: consecutive instance fragments of one application."""

    def __call__(
        self, name: str, fragments: list[bytes], *, first: bool, opens: bool, closes: bool
    ) -> bytes: ...


class DocumentCounters(Protocol):
    """Where a document counts its work (the response cache's statistics; `encode` counts the
    instances it encodes itself)."""

    app_encodes: int
    gzip_chunks: int


# How a block starts: inside its application, or opening it (as the document's first
# application or after another one: JSON puts a separator there).
_INSIDE, _OPENS_FIRST, _OPENS_LATER = 0, 1, 2


class _Block:
    __slots__ = ("chunk", "closes", "crc", "deadline_ms", "leases", "opens", "primed", "revision",
                 "size", "tail")  # fmt: skip

    def __init__(self, leases: list[Lease], opens: int, closes: bool, deadline_ms: int) -> None:
        self.leases = leases
        # The newest revision among the leases when encoded: any change to one of them gives it a
        # revision above every earlier one, so an equal maximum means an unchanged block.
        self.revision = max(lease.revision for lease in leases)
        self.opens = opens
        self.closes = closes
        self.deadline_ms = deadline_ms
        self.size = 0
        self.crc = 0
        self.tail = b""
        self.chunk = b""
        # The dictionary the chunk was deflated with (the previous block's `tail`), None for none.
        self.primed: bytes | None = None


class _Run:
    """One application's blocks, with their CRC and length combined and their chunks in order."""

    __slots__ = ("blocks", "chunks", "crc", "deadline_ms", "first", "size", "tail", "token")

    def __init__(self, blocks: list[_Block], token: object, first: bool) -> None:
        self.blocks = blocks
        self.tail = blocks[-1].tail
        self.token = token
        self.first = first
        self.chunks = [block.chunk for block in blocks]
        self.deadline_ms = min(block.deadline_ms for block in blocks)
        crc = size = 0
        for block in blocks:
            crc = crc32_combine(crc, block.crc, block.size)
            size += block.size
        self.crc = crc
        self.size = size


class ChunkedDocument:
    """The full registry in one variant (format, compact, version).

    `encode(lease)` returns an instance's fragment; `join` is the codec's `application_run`.
    """

    def __init__(
        self,
        encode: Callable[[Lease], bytes],
        join: RunJoiner,
        counters: DocumentCounters,
        *,
        level: int,
        expiry_ms: int,
    ) -> None:
        self._encode = encode
        self._join = join
        self._counters = counters
        self._level = level
        self._expiry_ms = expiry_ms
        self._runs: dict[str, _Run] = {}
        self._spread = 0.0

    def build(
        self,
        head: bytes,
        tail: bytes,
        apps: Iterable[tuple[str, object]],
        leases_of: Callable[[str], Collection[Lease]],
        now_ms: int,
    ) -> bytes:
        """The gzip of head + the applications' runs + tail, as a single-member gzip.

        `apps` yields (name, token) in document order; `leases_of(name)` gives the application's
        leases in order, and is called only for an application whose token differs from the last
        build's (or is None): pass the registry's application revision. This loop is all a build
        costs per unchanged application, so it does no more than read, combine and append.
        """
        old_runs = self._runs
        runs: dict[str, _Run] = {}
        parts = [GZIP_HEADER, stored_block(head)]
        extend = parts.extend
        combine = crc32_combine
        crc = crc32(head)
        size = len(head)
        previous: bytes | None = None  # the tail before the next block; None after the head
        first = True
        for name, token in apps:
            run = old_runs.get(name)
            if (
                run is None
                or token is None
                or run.token != token
                or run.first is not first
                or now_ms >= run.deadline_ms
            ):
                run = self._rebuild(
                    name,
                    run,
                    list(leases_of(name)),
                    token=token,
                    first=first,
                    previous=previous,
                    now_ms=now_ms,
                )
            elif run.blocks[0].primed is not previous:
                self._reprime_first(run, previous)
            runs[name] = run
            extend(run.chunks)
            crc = combine(crc, run.crc, run.size)
            size += run.size
            previous = run.tail
            first = False
        self._runs = runs
        parts.append(stored_block(tail, final=True))
        crc = combine(crc, crc32(tail), len(tail))
        parts.append(gzip_trailer(crc, size + len(tail)))
        return b"".join(parts)

    def block_count(self) -> int:
        """Blocks held (as of the last build), for statistics and tests."""
        return sum(len(run.blocks) for run in self._runs.values())

    # ------------------------------------------------------------------------------------------

    def _reprime_first(self, run: _Run, previous: bytes | None) -> None:
        block = run.blocks[0]
        self._prime(block, previous, None)
        run.chunks[0] = block.chunk

    def _prime(self, block: _Block, previous: bytes | None, text: bytes | None) -> None:
        """Give `block` a chunk deflated with `previous` as its dictionary."""
        if text is None:
            if block.primed == previous:
                block.primed = previous  # equal bytes: adopt the new object, free the old one
                return
            text = inflate_chunk(block.chunk, block.primed or b"")
        block.chunk = deflate_chunk(text, self._level, previous or b"")
        block.primed = previous
        self._counters.gzip_chunks += 1

    def _rebuild(
        self,
        name: str,
        old: _Run | None,
        leases: list[Lease],
        *,
        token: object,
        first: bool,
        previous: bytes | None,
        now_ms: int,
    ) -> _Run:
        """The application's run: old blocks that still fit where they are, new ones between."""
        self._counters.app_encodes += 1
        old_blocks = old.blocks if old is not None else []
        count = len(leases)
        blocks: list[_Block] = []
        texts: dict[int, bytes] = {}  # id(new block) → its text, until deflated below
        starts: dict[Lease, int] | None = None
        i = j = 0
        while i < count:
            if j < len(old_blocks) and self._fits(old_blocks[j], leases, i, first, now_ms):
                blocks.append(old_blocks[j])
                i += len(old_blocks[j].leases)
                j += 1
                continue
            # New text from i up to where an old block fits again (or the end).
            if starts is None:
                starts = {block.leases[0]: k for k, block in enumerate(old_blocks)}
            end, resume = i + 1, len(old_blocks)
            while end < count:
                k = starts.get(leases[end])
                if (
                    k is not None
                    and k >= j
                    and self._fits(old_blocks[k], leases, end, first, now_ms)
                ):
                    resume = k
                    break
                end += 1
            # Absorb a following block that still fits, so that blocks do not fragment.
            if end < count and end - i + len(old_blocks[resume].leases) <= BLOCK_SIZE:
                end += len(old_blocks[resume].leases)
                resume += 1
            self._new_blocks(
                name, leases[i:end], blocks, texts, at=i, of=count, first=first, now_ms=now_ms
            )
            i, j = end, resume
        for block in blocks:
            self._prime(block, previous, texts.get(id(block)))
            previous = block.tail
        return _Run(blocks, token, first)

    def _fits(self, block: _Block, leases: list[Lease], at: int, first: bool, now_ms: int) -> bool:
        """Whether `block` is exactly the text of the instances at `at`, as it stands now."""
        size = len(block.leases)
        return (
            now_ms < block.deadline_ms
            and block.opens == _opening(at, first)
            and block.closes is (at + size == len(leases))
            and leases[at : at + size] == block.leases
            and block.revision == max(lease.revision for lease in block.leases)
        )

    def _new_blocks(
        self,
        name: str,
        leases: list[Lease],
        blocks: list[_Block],
        texts: dict[int, bytes],
        *,
        at: int,
        of: int,
        first: bool,
        now_ms: int,
    ) -> None:
        """Encode `leases` (at position `at` of the application's `of`) as near-equal blocks of
        at most BLOCK_SIZE instances, appended to `blocks`, their texts to `texts`."""
        total = len(leases)
        pieces = -(-total // BLOCK_SIZE)
        base, extra = divmod(total, pieces)
        encode = self._encode
        start = 0
        for piece in range(pieces):
            stop = start + base + (1 if piece < extra else 0)
            members = leases[start:stop]
            opens = _opening(at + start, first)
            closes = at + stop == of
            self._spread = (self._spread + _SPREAD) % 1.0
            deadline = now_ms + self._expiry_ms - int(self._expiry_ms * self._spread / 4)
            block = _Block(members, opens, closes, deadline)
            fragments = [encode(lease) for lease in members]
            text = self._join(
                name, fragments, first=opens == _OPENS_FIRST, opens=opens != _INSIDE, closes=closes
            )
            block.size = len(text)
            block.crc = crc32(text)
            block.tail = text[-DICTIONARY:]
            texts[id(block)] = text
            blocks.append(block)
            start = stop


def _opening(at: int, first: bool) -> int:
    if at:
        return _INSIDE
    return _OPENS_FIRST if first else _OPENS_LATER
