"""Incremental gzip: independently compressed chunks assembled into one gzip member."""

from __future__ import annotations

import gzip
import os
import random
import zlib

import pytest

from eureka.registry.gzip_chunks import (
    FINAL_BLOCK,
    GZIP_HEADER,
    WINDOW,
    assemble,
    crc32,
    crc32_combine,
    deflate_chunk,
    gunzip,
    gzip_trailer,
    gzip_whole,
    inflate_chunk,
    stored_block,
)


def _single_member(data: bytes) -> bytes:
    """Decompress as HTTP clients do (zlib with a gzip wrapper), insisting on one member."""
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = decompressor.decompress(data) + decompressor.flush()
    assert decompressor.eof
    assert decompressor.unused_data == b""
    return out


def _pieces(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    pieces = []
    for _ in range(rng.randint(0, 12)):
        kind = rng.random()
        if kind < 0.2:
            pieces.append(b"")
        elif kind < 0.5:
            pieces.append(os.urandom(rng.randint(1, 5000)))  # incompressible
        else:
            word = bytes(rng.choice(b'abc{}":,') for _ in range(rng.randint(1, 40)))
            pieces.append(word * rng.randint(1, 3000))  # long back-references
    return pieces


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("level", [1, 6, 9])
def test_concatenated_chunks_form_one_valid_gzip_member(seed: int, level: int) -> None:
    pieces = _pieces(seed)
    body = b"".join(pieces)
    data = assemble([deflate_chunk(p, level) for p in pieces], zlib.crc32(body), len(body))
    assert gzip.decompress(data) == body
    assert _single_member(data) == body


@pytest.mark.parametrize("seed", range(10))
def test_chunks_primed_with_the_preceding_text_form_a_valid_member(seed: int) -> None:
    pieces = _pieces(seed)
    chunks, before = [], b""
    for piece in pieces:
        chunks.append(deflate_chunk(piece, 6, dictionary=before[-WINDOW:]))
        before += piece
    data = assemble(chunks, zlib.crc32(before), len(before))
    assert _single_member(data) == before
    assert gzip.decompress(data) == before


def test_priming_recovers_the_ratio_lost_by_independent_chunks() -> None:
    # 20 "applications" of 30 similar instances, as in a registry payload.
    record = b'{"instanceId":"10.0.%d.1:svc-%d:8080","status":"UP","port":{"$":8080},"x":"%s"}'
    pieces = [
        b",".join(record % (k, n, b"abcdefghij" * (k % 7)) for k in range(30)) for n in range(20)
    ]
    body = b"".join(pieces)
    alone = sum(len(deflate_chunk(p)) for p in pieces)
    primed = sum(
        len(deflate_chunk(p, dictionary=b"".join(pieces[:n]))) for n, p in enumerate(pieces)
    )
    whole = len(deflate_chunk(body))
    assert primed < alone
    # Priming recovers most of what independent chunks lose (block headers remain).
    assert primed - whole < (alone - whole) / 3


def test_a_primed_chunk_after_different_text_is_detected() -> None:
    first, second = b"alpha beta gamma " * 20, b"alpha beta gamma delta " * 20
    primed = deflate_chunk(second, dictionary=first)
    wrong = b"zeta " * 70
    body = wrong + second
    data = assemble([deflate_chunk(wrong), primed], zlib.crc32(body), len(body))
    with pytest.raises((gzip.BadGzipFile, zlib.error, EOFError)):
        assert gzip.decompress(data) == body


def test_chunks_can_be_reused_in_other_combinations() -> None:
    a, b, c = b'{"name":"A"}' * 50, b'{"name":"B"}' * 70, b"tail"
    chunks = {piece: deflate_chunk(piece) for piece in (a, b, c)}
    for order in ((a, b, c), (c, a), (b, b, a, c)):
        body = b"".join(order)
        data = assemble([chunks[p] for p in order], zlib.crc32(body), len(body))
        assert _single_member(data) == body


def test_empty_body_and_final_block() -> None:
    assert deflate_chunk(b"") == b""
    assert zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS).flush() == FINAL_BLOCK
    data = assemble([], zlib.crc32(b""), 0)
    assert gzip.decompress(data) == b""
    assert _single_member(data) == b""


def test_gzip_whole_round_trips_and_compresses() -> None:
    body = b'{"instance":{"app":"X"}}' * 1000
    data = gzip_whole(body)
    assert _single_member(data) == body
    assert len(data) < len(body) // 20


def test_wrong_crc_is_detected_by_decompressors() -> None:
    body = b"hello world" * 10
    data = assemble([deflate_chunk(body)], zlib.crc32(body) ^ 1, len(body))
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(data)


@pytest.mark.parametrize("seed", range(10))
def test_combined_crc_equals_the_crc_of_the_whole(seed: int) -> None:
    pieces = _pieces(seed)
    combined = 0
    for piece in pieces:
        combined = crc32_combine(combined, crc32(piece), len(piece))
    assert combined == zlib.crc32(b"".join(pieces))


@pytest.mark.parametrize("seed", range(10))
def test_stored_head_and_final_tail_around_primed_chunks(seed: int) -> None:
    """The chunked document's layout: stored head, primed chunks, a stored final tail, and a
    trailer from combined CRCs, read back by a strict single-member decompressor."""
    rng = random.Random(seed)
    head = os.urandom(rng.randint(0, 70_000))  # may need more than one stored block
    tail = b"]}}" * rng.randint(0, 3)
    pieces = _pieces(seed)
    parts, crc, previous = [GZIP_HEADER, stored_block(head)], crc32(head), b""
    for piece in pieces:
        parts.append(deflate_chunk(piece, 6, dictionary=previous[-1024:]))
        crc = crc32_combine(crc, crc32(piece), len(piece))
        previous = piece or previous
    parts.append(stored_block(tail, final=True))
    crc = crc32_combine(crc, crc32(tail), len(tail))
    body = head + b"".join(pieces) + tail
    data = b"".join([*parts, gzip_trailer(crc, len(body))])
    assert _single_member(data) == body
    assert gunzip(data) == body


def test_a_primed_chunk_inflates_back_with_its_dictionary() -> None:
    dictionary = b'{"instance":{"hostName":"10.0.0.1","app":"A"}}' * 20
    text = dictionary[:500] + os.urandom(100) + dictionary[:300]
    chunk = deflate_chunk(text, 6, dictionary)
    assert inflate_chunk(chunk, dictionary) == text
    assert inflate_chunk(deflate_chunk(text, 6)) == text
    assert inflate_chunk(b"") == b""
