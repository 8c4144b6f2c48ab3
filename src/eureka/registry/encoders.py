"""What the response cache needs from a wire codec, and adapters to eureka.codec.json / .xml.

The cache encodes each instance once into a *fragment* and joins fragments into documents, so a
change re-encodes one instance instead of the registry. The codec modules expose exactly that
(`encode_instance_fragment`, `join_applications`, `join_application`), plus the pieces of a
document — `applications_envelope` (head and tail) and `application_run` (consecutive instances of
one application) — that the cache keeps compressed per block (see `chunked_document`). The adapter
only papers over the keyword arguments that differ between them (XML fragments depend on the V1
status rendering and on their indentation depth, JSON fragments on neither).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Protocol

from eureka.model import InstanceInfo
from eureka.registry.cache_key import Format

__all__ = ["CodecModuleEncoder", "PayloadEncoder", "default_encoders"]

# XML nesting depth of an instance inside <applications><application>, and inside <application>.
DEPTH_IN_APPLICATIONS = 2
DEPTH_IN_APPLICATION = 1


class PayloadEncoder(Protocol):
    content_type: str
    # Whether `instance` output depends on `v1` / `depth` (if not, the cache shares fragments).
    context_sensitive: bool

    def instance(self, info: InstanceInfo, *, compact: bool, v1: bool, depth: int) -> bytes: ...

    def applications(
        self,
        version: int,
        apps_hashcode: str,
        apps: Sequence[tuple[str, Sequence[bytes]]],
        *,
        compact: bool,
        v1: bool,
    ) -> bytes: ...

    def application(
        self, name: str, fragments: Sequence[bytes], *, compact: bool, v1: bool
    ) -> bytes: ...

    def envelope(
        self, version: int, apps_hashcode: str, *, empty: bool, compact: bool, v1: bool
    ) -> tuple[bytes, bytes]:
        """(head, tail) such that head + runs + tail is `applications(...)`."""
        ...

    def run(
        self,
        name: str,
        fragments: Sequence[bytes],
        *,
        first: bool,
        opens: bool,
        closes: bool,
        compact: bool,
        v1: bool,
    ) -> bytes:
        """Consecutive instances of one application as `applications(...)` writes them:
        `opens` / `closes` the application, which is the document's `first` or follows one."""
        ...


def _accepted_keywords(function: Callable[..., Any]) -> frozenset[str]:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        return frozenset()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return frozenset({"compact", "v1", "depth"})
    return frozenset(p.name for p in parameters if p.kind is not inspect.Parameter.VAR_POSITIONAL)


class CodecModuleEncoder:
    """Adapter over a codec module with `encode_instance_fragment`, `join_applications`,
    `join_application`. Keyword arguments a function does not declare are not passed."""

    def __init__(self, module: ModuleType, content_type: str) -> None:
        self.content_type = content_type
        self._fragment = module.encode_instance_fragment
        self._join_all = module.join_applications
        self._join_one = module.join_application
        self._envelope = module.applications_envelope
        self._run = module.application_run
        self._fragment_kw = _accepted_keywords(self._fragment)
        self._join_all_kw = _accepted_keywords(self._join_all)
        self._join_one_kw = _accepted_keywords(self._join_one)
        self._envelope_kw = _accepted_keywords(self._envelope)
        self._run_kw = _accepted_keywords(self._run)
        self.context_sensitive = bool({"v1", "depth"} & self._fragment_kw)
        # The keyword arguments of each (compact, v1, depth), built once: `instance` runs for
        # every instance encoded, and building them per call cost 3 µs of its 11 (measured).
        self._fragment_options: dict[tuple[bool, bool, int], dict[str, object]] = {}

    @staticmethod
    def _pick(accepted: frozenset[str], **options: object) -> dict[str, object]:
        return {k: v for k, v in options.items() if k in accepted}

    def instance(self, info: InstanceInfo, *, compact: bool, v1: bool, depth: int) -> bytes:
        options = self._fragment_options.get((compact, v1, depth))
        if options is None:
            options = self._pick(self._fragment_kw, compact=compact, v1=v1, depth=depth)
            self._fragment_options[(compact, v1, depth)] = options
        return bytes(self._fragment(info, **options))

    def envelope(
        self, version: int, apps_hashcode: str, *, empty: bool, compact: bool, v1: bool
    ) -> tuple[bytes, bytes]:
        options = self._pick(self._envelope_kw, compact=compact, v1=v1)
        head, tail = self._envelope(version, apps_hashcode, empty=empty, **options)
        return bytes(head), bytes(tail)

    def run(
        self,
        name: str,
        fragments: Sequence[bytes],
        *,
        first: bool,
        opens: bool,
        closes: bool,
        compact: bool,
        v1: bool,
    ) -> bytes:
        options = self._pick(self._run_kw, compact=compact, v1=v1)
        return bytes(self._run(name, fragments, first=first, opens=opens, closes=closes, **options))

    def applications(
        self,
        version: int,
        apps_hashcode: str,
        apps: Sequence[tuple[str, Sequence[bytes]]],
        *,
        compact: bool,
        v1: bool,
    ) -> bytes:
        options = self._pick(self._join_all_kw, compact=compact, v1=v1)
        return bytes(self._join_all(version, apps_hashcode, apps, **options))

    def application(
        self, name: str, fragments: Sequence[bytes], *, compact: bool, v1: bool
    ) -> bytes:
        options = self._pick(self._join_one_kw, compact=compact, v1=v1)
        return bytes(self._join_one(name, fragments, **options))


def default_encoders() -> dict[Format, PayloadEncoder]:
    """Adapters over eureka.codec.json and eureka.codec.xml (imported on first use)."""
    return {
        Format.JSON: CodecModuleEncoder(
            importlib.import_module("eureka.codec.json"), "application/json"
        ),
        Format.XML: CodecModuleEncoder(
            importlib.import_module("eureka.codec.xml"), "application/xml"
        ),
    }
