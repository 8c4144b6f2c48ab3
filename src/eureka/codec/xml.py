"""Eureka's XML: the XStream format of the server's full XML, and JacksonXmlMini for compact XML.

Encoders write exactly what the Java server writes (protocol.md §4.4, fixtures
`java/*.xstream.xml`, `java/*.jacksonxmlmini.xml`, `java/*-v1request.xml`); decoders accept what
Java parties write in any of the XML dialects and raise `eureka.errors.BadInput` — and nothing
else — on anything undecodable, unsafe (DOCTYPE, entities) or larger than `max_bytes`.

`v1=True` is the V1 rendering (`V1AwareInstanceInfoConverter`): `<status>` values other than UP,
DOWN and STARTING are written as DOWN. The Java server uses it for `/v1/...` requests and for the
single-instance XML GETs, which run without a request version (fixtures `http/16`–`20`). The
compact codec is Jackson-based and has no V1 rendering, so `compact=True` ignores `v1`.

The fragment functions serve the response cache: a change re-encodes one instance, and
`join_applications` / `join_application` splice cached fragments into a document that is
byte-for-byte what `encode_applications` / `encode_application` would produce.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from eureka.codec import _xml_decode, _xml_encode
from eureka.errors import BadInput
from eureka.model import Application, Applications, InstanceInfo

__all__ = [
    "DEFAULT_MAX_BYTES",
    "application_run",
    "applications_envelope",
    "decode_application",
    "decode_applications",
    "decode_instance",
    "encode_application",
    "encode_applications",
    "encode_instance",
    "encode_instance_fragment",
    "join_application",
    "join_applications",
]

# A full registry in XML takes about 1.9 KB per instance, so 256 MiB holds some 140k instances
# (the server is sized for 100k) while still bounding what one response may cost a client.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

_T = TypeVar("_T")


def _decode(data: bytes | str, max_bytes: int | None, root: str, build: Callable[[Any], _T]) -> _T:
    element = _xml_decode.parse_document(
        data, DEFAULT_MAX_BYTES if max_bytes is None else max_bytes, root
    )
    try:
        return build(element)
    except BadInput:
        raise
    except (ValueError, TypeError, LookupError) as exc:  # a safety net: none is known to occur
        raise BadInput(f"undecodable <{root}>: {type(exc).__name__}") from None


def decode_instance(data: bytes | str, *, max_bytes: int | None = None) -> InstanceInfo:
    """An `<instance>` document (a registration body, a single-instance GET)."""
    return _decode(data, max_bytes, "instance", _xml_decode.instance_from)


def decode_application(data: bytes | str, *, max_bytes: int | None = None) -> Application:
    """An `<application>` document."""
    return _decode(data, max_bytes, "application", _xml_decode.application_from)


def decode_applications(data: bytes | str, *, max_bytes: int | None = None) -> Applications:
    """An `<applications>` document: full registry, delta or VIP, full or compact."""
    return _decode(data, max_bytes, "applications", _xml_decode.applications_from)


def encode_instance(instance: InstanceInfo, *, v1: bool = False) -> bytes:
    return _xml_encode.full_instance(instance, v1, 0).encode("utf-8")


def encode_application(application: Application, *, v1: bool = False) -> bytes:
    return _xml_encode.full_application(application, v1).encode("utf-8")


def encode_applications(
    applications: Applications, *, compact: bool = False, v1: bool = False
) -> bytes:
    if compact:
        return _xml_encode.compact_applications(applications).encode("utf-8")
    return _xml_encode.full_applications(applications, v1).encode("utf-8")


def encode_instance_fragment(
    instance: InstanceInfo, *, compact: bool = False, v1: bool = False, depth: int = 2
) -> bytes:
    """The `<instance>` element alone, as it appears inside a document at nesting `depth`.

    Full XML: starts with the element's indentation (two spaces per level, no leading newline)
    and ends with `</instance>`; depth 2 is inside `<applications><application>`, depth 1 inside
    `<application>`, depth 0 is `encode_instance`. Compact XML has no whitespace, so `depth` is
    irrelevant there.
    """
    if compact:
        return _xml_encode.compact_instance(instance).encode("utf-8")
    return _xml_encode.full_instance(instance, v1, depth).encode("utf-8")


def join_applications(
    version: int,
    apps_hashcode: str,
    apps: Iterable[tuple[str, Sequence[bytes]]],
    *,
    compact: bool = False,
) -> bytes:
    """An `<applications>` document from (application name, instance fragments at depth 2)."""
    if compact:
        return _xml_encode.join_compact_applications(version, apps_hashcode, apps)
    return _xml_encode.join_full_applications(version, apps_hashcode, apps)


def applications_envelope(
    version: int, apps_hashcode: str, *, empty: bool, compact: bool = False
) -> tuple[bytes, bytes]:
    """The text before the first and after the last application in `join_applications`; with
    `application_run`, head + runs + tail is byte for byte `join_applications`' document."""
    return _xml_encode.applications_envelope(version, apps_hashcode, empty=empty, compact=compact)


def application_run(
    name: str,
    fragments: Sequence[bytes],
    *,
    first: bool,
    opens: bool,
    closes: bool,
    compact: bool = False,
) -> bytes:
    """Consecutive instances (fragments at depth 2) of one application inside
    `join_applications`: `opens` / `closes` the application. XML has no separator between
    applications, so `first` changes nothing here."""
    return _xml_encode.application_run(name, fragments, opens=opens, closes=closes, compact=compact)


def join_application(name: str, fragments: Sequence[bytes]) -> bytes:
    """An `<application>` document from instance fragments at depth 1."""
    return _xml_encode.join_full_application(name, fragments)
