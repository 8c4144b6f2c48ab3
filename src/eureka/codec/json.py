"""Eureka's JSON, both directions (protocol.md §3, §4.1–4.3).

Encoders write exactly what the Java server writes: dialect A (`EurekaJacksonCodec`) by default,
JacksonJsonMini with `compact=True`; key order, string-vs-number typing and omitted keys follow
the real codec output in shared/fixtures/java. Decoders accept the union of the dialects in the
wild (A, Spring Cloud's bean dialect B, the legacy XStream/Jettison shapes, compact) with the root
wrapper required, and raise `BadInput` — nothing else — for anything they cannot read.

For the response cache, `encode_instance_fragment` + `join_applications` / `join_application`
build the same bytes as `encode_applications` / `encode_application` from per-instance pieces, so
that a change re-encodes one instance rather than the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, TypeVar

import msgspec

from eureka.codec import _json_decode as dec
from eureka.codec import _json_encode as enc
from eureka.errors import BadInput
from eureka.model import Application, Applications, InstanceInfo

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "application_run",
    "applications_envelope",
    "decode_application",
    "decode_applications",
    "decode_document",
    "decode_instance",
    "encode_application",
    "encode_applications",
    "encode_instance",
    "encode_instance_fragment",
    "instance_from_obj",
    "instance_to_obj",
    "join_application",
    "join_applications",
]

# A 100k-instance registry in dialect A is about 100 MB; 256 MiB leaves room for large metadata
# while still refusing a document that could only exhaust memory.
DEFAULT_MAX_BYTES: Final = 256 * 1024 * 1024

# The deepest Eureka document is a replication batch: list → item → instance → metadata, six
# levels with the wrappers. 32 leaves room for any dialect while keeping the walk shallow.
MAX_DEPTH: Final = 32

_BOM: Final = b"\xef\xbb\xbf"  # Jackson skips a UTF-8 byte-order mark; msgspec would reject it
_REASON_LIMIT: Final = 160

_T = TypeVar("_T")
_D = TypeVar("_D")

_document_decoder: Final = msgspec.json.Decoder()
_instance_decoder: Final = msgspec.json.Decoder(dec.InstanceDoc, strict=False)
_application_decoder: Final = msgspec.json.Decoder(dec.ApplicationDoc, strict=False)
_applications_decoder: Final = msgspec.json.Decoder(dec.ApplicationsDoc, strict=False)
_encode: Final = enc.encoder.encode


# ---------------------------------------------------------------------------------------------
# decoding


def _instance_from_doc(doc: dec.InstanceDoc) -> InstanceInfo:
    return dec.convert_instance(doc.instance)


def _application_from_doc(doc: dec.ApplicationDoc) -> Application:
    return dec.convert_application(doc.application)


def _applications_from_doc(doc: dec.ApplicationsDoc) -> Applications:
    return dec.convert_applications(doc.applications)


def _short(reason: str) -> str:
    return reason if len(reason) <= _REASON_LIMIT else reason[: _REASON_LIMIT - 1] + "…"


def _checked(data: bytes | str, max_bytes: int | None) -> bytes | str:
    if isinstance(data, bytearray | memoryview):  # tolerated: some servers hand bodies this way
        data = bytes(data)
    elif not isinstance(data, bytes | str):
        raise BadInput("JSON body must be bytes or text")
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    # For text the limit counts characters (the caller already holds the decoded string).
    if len(data) > limit:
        raise BadInput(f"JSON document larger than {limit} bytes")
    if isinstance(data, bytes) and data.startswith(_BOM):
        return data[3:]
    if isinstance(data, str) and data.startswith("\ufeff"):
        return data[1:]
    return data


def _decode(
    data: bytes | str,
    max_bytes: int | None,
    decoder: msgspec.json.Decoder[_D],
    root: str,
    convert: Callable[[_D], _T],
) -> _T:
    text = _checked(data, max_bytes)
    try:
        try:
            return convert(decoder.decode(text))
        except dec.NeedsKeyOrder:
            # Both overridden-status spellings with different values: only a dict keeps the key
            # order that decides between them, so redo this (rare) document the slow way.
            generic = dec.resolve_overridden_order(_parse_generic(text, MAX_DEPTH), root)
            return convert(msgspec.convert(generic, decoder.type, strict=False))
    except BadInput:
        raise
    except msgspec.ValidationError as exc:
        raise BadInput(_short(f"invalid {root}: {exc}")) from None
    except msgspec.DecodeError as exc:
        raise BadInput(_short(f"malformed JSON: {exc}")) from None
    except UnicodeError:
        raise BadInput("JSON is not valid UTF-8") from None
    except RecursionError:
        raise BadInput("JSON nested too deeply") from None
    except (ValueError, TypeError, OverflowError, MemoryError, dec.NeedsKeyOrder) as exc:
        # Defensive: the converters raise BadInput themselves; this keeps the contract that no
        # other exception escapes a decoder even for input nobody anticipated.
        raise BadInput(_short(f"invalid {root}: {type(exc).__name__}")) from None


def _too_deep(document: Any, max_depth: int) -> bool:
    """Iterative (never recursive) depth walk over the containers of a decoded document."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _parse_generic(text: bytes | str, max_depth: int) -> Any:
    try:
        document = _document_decoder.decode(text)
    except msgspec.DecodeError as exc:
        raise BadInput(_short(f"malformed JSON: {exc}")) from None
    except UnicodeError:
        raise BadInput("JSON is not valid UTF-8") from None
    except RecursionError:
        # msgspec gives up at the interpreter's recursion limit, long before a stack overflow.
        raise BadInput("JSON nested too deeply") from None
    if isinstance(document, dict | list) and _too_deep(document, max_depth):
        raise BadInput(f"JSON nested deeper than {max_depth} levels")
    return document


def decode_document(
    data: bytes | str, *, max_bytes: int | None = None, max_depth: int = MAX_DEPTH
) -> Any:
    """Bytes → a plain JSON document (dict, list, str, int, float, bool, None), bounded.

    The one generic entry point (replication batches and their answers, the key-order fallback):
    the size limit, a UTF-8 byte-order mark, malformed text, invalid UTF-8 and nesting deeper than
    `max_depth` all raise `BadInput`, so no caller sees a `RecursionError` or a msgspec error.
    """
    return _parse_generic(_checked(data, max_bytes), max_depth)


def decode_instance(data: bytes | str, *, max_bytes: int | None = None) -> InstanceInfo:
    """`{"instance": {...}}` in any dialect → InstanceInfo (a registration or instance GET)."""
    return _decode(
        data,
        max_bytes,
        _instance_decoder,
        "instance",
        _instance_from_doc,
    )


def decode_application(data: bytes | str, *, max_bytes: int | None = None) -> Application:
    """`{"application": {...}}` → Application; instances are de-duplicated by effective id."""
    return _decode(
        data,
        max_bytes,
        _application_decoder,
        "application",
        _application_from_doc,
    )


def decode_applications(data: bytes | str, *, max_bytes: int | None = None) -> Applications:
    """`{"applications": {...}}` (full, delta, VIP or compact) → Applications.

    `versions__delta` absent → version −1; `apps__hashcode` absent → None.
    """
    return _decode(
        data,
        max_bytes,
        _applications_decoder,
        "applications",
        _applications_from_doc,
    )


def instance_from_obj(obj: object) -> InstanceInfo:
    """A bare instance object (as embedded in a replication batch) → InstanceInfo.

    Same leniency as `decode_instance`; the caller's object is not modified.
    """
    try:
        obj = dec.resolve_overridden_order(obj, None)
        return dec.convert_instance(msgspec.convert(obj, dec.WireInstance, strict=False))
    except BadInput:
        raise
    except msgspec.ValidationError as exc:
        raise BadInput(_short(f"invalid instance: {exc}")) from None
    except RecursionError:
        raise BadInput("instance nested too deeply") from None
    except (ValueError, TypeError, OverflowError, MemoryError, dec.NeedsKeyOrder) as exc:
        raise BadInput(_short(f"invalid instance: {type(exc).__name__}")) from None


# ---------------------------------------------------------------------------------------------
# encoding


def _wire(compact: bool) -> Callable[[InstanceInfo], Any]:
    return enc.to_wire_mini if compact else enc.to_wire


def instance_to_obj(instance: InstanceInfo) -> dict[str, Any]:
    """The dialect-A instance object without root wrapper, as plain dicts/strings/ints."""
    result: dict[str, Any] = msgspec.to_builtins(enc.to_wire(instance))
    return result


def encode_instance_fragment(instance: InstanceInfo, *, compact: bool = False) -> bytes:
    """The instance object alone (no wrapper): the unit the response cache keeps per instance."""
    return _encode(_wire(compact)(instance))


def encode_instance(instance: InstanceInfo) -> bytes:
    """`{"instance":{...}}`, dialect A (the instance GET and the 409 replication body)."""
    return b'{"instance":' + _encode(enc.to_wire(instance)) + b"}"


def encode_application(application: Application) -> bytes:
    """`{"application":{"name":...,"instance":[...]}}`, dialect A."""
    to_wire = enc.to_wire
    body = {
        "name": application.name,
        "instance": [to_wire(i) for i in application.instances_by_id.values()],
    }
    return _encode({"application": body})


def encode_applications(applications: Applications, *, compact: bool = False) -> bytes:
    """The full/delta/VIP document: dialect A, or JacksonJsonMini when `compact`."""
    to_wire = _wire(compact)
    apps = [
        {"name": app.name, "instance": [to_wire(i) for i in app.instances_by_id.values()]}
        for app in applications.applications_by_name.values()
    ]
    tree = enc.applications_tree(applications.version, applications.apps_hashcode, apps, compact)
    return _encode(tree)


def _application_object(name: str, fragments: Sequence[bytes]) -> bytes:
    return b"".join((b'{"name":', _encode(name), b',"instance":[', b",".join(fragments), b"]}"))


def join_application(name: str, fragments: Sequence[bytes]) -> bytes:
    """`{"application":...}` from instance fragments; equals `encode_application` byte for byte."""
    return b'{"application":' + _application_object(name, fragments) + b"}"


def join_applications(
    version: int,
    apps_hashcode: str,
    apps: Iterable[tuple[str, Sequence[bytes]]],
    *,
    compact: bool = False,
) -> bytes:
    """`{"applications":...}` from per-application instance fragments.

    Produces exactly the bytes `encode_applications` writes for the same data (the fragments must
    have been encoded with the same `compact` setting).
    """
    # One flat list and a single join: the server rebuilds this 10 MB document after changes,
    # and joining per application first copied every byte four times (measured: 16 → 4 ms).
    body: list[bytes] = []
    for name, fragments in apps:
        if body:
            body.append(b",")
        body += (b'{"name":', _encode(name), b',"instance":[')
        body += _comma_separated(fragments)
        body.append(b"]}")
    version_text = b'"' + str(version).encode() + b'"'
    if compact:
        empty = b"false" if body else b"true"
        tail = b"" if apps_hashcode is None else b',"apps__hashcode":' + _encode(apps_hashcode)
        return b"".join(
            (
                b'{"applications":{"application":[',
                *body,
                b'],"registeredApplicationsEmpty":',
                empty,
                b',"versions__delta":',
                version_text,
                tail,
                b"}}",
            )
        )
    return b"".join(
        (
            b'{"applications":{"versions__delta":',
            version_text,
            b',"apps__hashcode":',
            _encode(apps_hashcode),
            b',"application":[',
            *body,
            b"]}}",
        )
    )


def applications_envelope(
    version: int, apps_hashcode: str, *, empty: bool, compact: bool = False
) -> tuple[bytes, bytes]:
    """The text before the first application and after the last one in `join_applications`.

    With `application_run`, this lets the response cache keep a document as pieces:
    head + runs + tail is byte for byte what `join_applications` writes (`empty`: no application).
    """
    version_text = b'"' + str(version).encode() + b'"'
    if compact:
        tail = b"" if apps_hashcode is None else b',"apps__hashcode":' + _encode(apps_hashcode)
        return (
            b'{"applications":{"application":[',
            b"".join(
                (
                    b'],"registeredApplicationsEmpty":',
                    b"true" if empty else b"false",
                    b',"versions__delta":',
                    version_text,
                    tail,
                    b"}}",
                )
            ),
        )
    head = b"".join(
        (
            b'{"applications":{"versions__delta":',
            version_text,
            b',"apps__hashcode":',
            _encode(apps_hashcode),
            b',"application":[',
        )
    )
    return head, b"]}}"


def application_run(
    name: str,
    fragments: Sequence[bytes],
    *,
    first: bool,
    opens: bool,
    closes: bool,
    compact: bool = False,
) -> bytes:
    """Consecutive instances of one application as they appear inside `join_applications`.

    `opens`: the run starts the application (with the separator before it unless it is the
    `first` application); `closes`: the run ends it. An application's runs, in order, make its
    text. `compact` does not change this text (only the instance fragments differ).
    """
    parts: list[bytes] = []
    if opens:
        if not first:
            parts.append(b",")
        parts += (b'{"name":', _encode(name), b',"instance":[')
    else:
        parts.append(b",")
    parts += _comma_separated(fragments)
    if closes:
        parts.append(b"]}")
    return b"".join(parts)


def _comma_separated(fragments: Sequence[bytes]) -> list[bytes]:
    """[f0, b",", f1, b",", f2, ...] built by slicing, without copying the fragments' bytes."""
    if not fragments:
        return []
    pieces: list[bytes] = [b","] * (2 * len(fragments) - 1)
    pieces[0::2] = fragments
    return pieces
