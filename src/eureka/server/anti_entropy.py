"""The asyncio driver of anti-entropy between peers (`replication/anti_entropy.py` decides).

One task sleeps until the next peer's round is due and starts it; a round is a few requests to
that peer — `GET apps/digests` (with `If-None-Match` of our total, so an equal peer answers 304
with headers only), then for the applications that differ `GET apps/{app}` (at most
`FETCH_CONCURRENCY` at a time) and `GET peerreplication/cancelled?apps=` — followed by one
synchronous step on the event loop: plan against our registry as it is now, apply, report. The
repairs go to the registry as replications and never to `PeerCluster`, so nothing is sent back.

The HTTP client is the peer cluster's (its timeouts, its TLS and credentials settings).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from urllib.parse import quote

import httpx
import msgspec

from eureka.clock import Clock
from eureka.codec import json as json_codec
from eureka.digest import DIGEST_BITS, instance_digest, parse_digest
from eureka.errors import BadInput
from eureka.model import InstanceInfo
from eureka.registry import Registry
from eureka.replication.anti_entropy import (
    AntiEntropy,
    AntiEntropySettings,
    AntiEntropyStats,
    peer_copy,
)
from eureka.urls import redact_url

__all__ = ["FETCH_CONCURRENCY", "AntiEntropyRunner"]

log = logging.getLogger("eureka.server")

FETCH_CONCURRENCY = 4
# Applications per `peerreplication/cancelled` request: keeps the query string short.
CANCELLED_CHUNK = 100
_MASK = (1 << DIGEST_BITS) - 1
HEADERS = {
    "Accept": "application/json",
    "Accept-Encoding": "gzip",
    "DiscoveryIdentity-Name": "DefaultServer",
    "DiscoveryIdentity-Version": "1.0",
    "User-Agent": "eureka-py-AntiEntropy",
}
_DIGEST_HEADER = "x-eureka-digest"


class _Digests(msgspec.Struct):
    applications: dict[str, str]
    digest: str = ""


class _Cancelled(msgspec.Struct):
    applications: dict[str, dict[str, int]]


_decode_digests = msgspec.json.Decoder(_Digests).decode
_decode_cancelled = msgspec.json.Decoder(_Cancelled).decode


class RoundFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AntiEntropyRunner:
    def __init__(
        self,
        settings: AntiEntropySettings,
        registry: Registry,
        clock: Clock,
        *,
        peers: Callable[[], Iterable[str]],
        http: httpx.AsyncClient,
        core: AntiEntropy | None = None,
    ) -> None:
        self.core = core if core is not None else AntiEntropy(settings, clock)
        self.registry = registry
        self._peers = peers
        self._http = http
        # Told after a round changed the registry (the node wires the watch hub here).
        self.on_change: Callable[[], None] = _nothing
        self._task: asyncio.Task[None] | None = None
        self._rounds: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._clock = clock
        self._failing: dict[str, str] = {}

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="anti-entropy")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._rounds) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        self._rounds.clear()

    def stats(self) -> dict[str, AntiEntropyStats]:
        return self.core.stats()

    async def run_round(self, url: str) -> None:
        """One round with `url` now (the loop's unit of work; tests call it directly)."""
        try:
            await self._compare(url)
        except RoundFailed as failure:
            self._failed(url, failure.reason)
        except httpx.HTTPError as error:
            self._failed(
                url, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            )
        except Exception:
            log.exception("anti-entropy round with %s failed", redact_url(url))
            self._failed(url, "internal error (see the log)")
        finally:
            self._wakeup.set()

    # -- loop

    async def _run(self) -> None:
        core = self.core
        while True:
            self._wakeup.clear()
            core.set_peers(self._peers())
            for url in core.due():
                task = asyncio.get_running_loop().create_task(
                    self.run_round(url), name=f"anti-entropy→{redact_url(url)}"
                )
                self._rounds.add(task)
                task.add_done_callback(self._rounds.discard)
            deadline = core.next_deadline()
            # Wake at least once a second to pick up peer-list changes.
            delay = (
                1.0 if deadline is None else max(0.0, min(1.0, deadline - self._clock.monotonic()))
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wakeup.wait()

    # -- one round

    async def _compare(self, url: str) -> None:
        registry = self.registry
        ours_total = registry.digest
        response = await self._http.get(
            f"{url}apps/digests",
            headers={**HEADERS, "If-None-Match": f'W/"{ours_total:032x}"'},
        )
        if response.status_code == 304:
            self._completed(url)
            return
        if response.status_code != 200:
            raise RoundFailed(f"apps/digests answered HTTP {response.status_code}")
        theirs = _parse_digests(response.content)
        apps = self.core.select_apps(url, registry.app_digests(), theirs)
        if not apps:
            self._completed(url)
            return
        copies = await self._fetch_apps(url, apps, theirs)
        their_cancels = await self._fetch_cancelled(url, apps)

        # Synchronous from here on: the plan sees our registry as it is when it is applied.
        report = self.core.repair(url, registry, apps, copies, their_cancels)
        self._recovered(url)
        if report.adopted or report.dropped:
            self.on_change()
            log.info(
                "anti-entropy with %s: adopted %d and dropped %d instance(s) in %s",
                redact_url(url),
                report.adopted,
                report.dropped,
                ", ".join(report.repaired_apps)[:300],
            )
        for failure in report.failed:
            log.warning("anti-entropy with %s: repair refused: %s", redact_url(url), failure)

    async def _fetch_apps(
        self, url: str, apps: Sequence[str], theirs: Mapping[str, int]
    ) -> dict[str, Mapping[str, InstanceInfo] | None]:
        limit = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def fetch(app: str) -> Mapping[str, InstanceInfo] | None:
            async with limit:
                response = await self._http.get(f"{url}apps/{quote(app, safe='')}", headers=HEADERS)
            if response.status_code == 404:
                instances: dict[str, InstanceInfo] = {}
            elif response.status_code == 200:
                try:
                    instances = json_codec.decode_application(response.content).instances_by_id
                except BadInput as error:
                    raise RoundFailed(f"apps/{app}: {error.reason}") from None
            else:
                raise RoundFailed(f"apps/{app} answered HTTP {response.status_code}")
            header = response.headers.get(_DIGEST_HEADER)
            header_digest = None if header is None else parse_digest(header)
            body_digest = sum(instance_digest(i) for i in instances.values()) & _MASK
            return peer_copy(theirs.get(app, 0), header_digest, body_digest, instances)

        results = await asyncio.gather(*(fetch(app) for app in apps))
        return dict(zip(apps, results, strict=True))

    async def _fetch_cancelled(
        self, url: str, apps: Sequence[str]
    ) -> dict[str, dict[str, int]] | None:
        """The peer's recent cancels of `apps`; None if it cannot tell (no such endpoint)."""
        found: dict[str, dict[str, int]] = {}
        for start in range(0, len(apps), CANCELLED_CHUNK):
            chunk = apps[start : start + CANCELLED_CHUNK]
            response = await self._http.get(
                f"{url}peerreplication/cancelled",
                params={"apps": ",".join(chunk)},
                headers=HEADERS,
            )
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise RoundFailed(f"peerreplication/cancelled answered HTTP {response.status_code}")
            try:
                found.update(_decode_cancelled(response.content).applications)
            except msgspec.DecodeError:
                raise RoundFailed("peerreplication/cancelled: undecodable body") from None
        return found

    # -- reporting

    def _completed(self, url: str) -> None:
        """A round that found nothing to compare."""
        self.core.completed(url, differing=())
        self._recovered(url)

    def _recovered(self, url: str) -> None:
        if self._failing.pop(url, None) is not None:
            log.info("anti-entropy with %s: rounds succeed again", redact_url(url))

    def _failed(self, url: str, reason: str) -> None:
        self.core.failed(url, reason)
        # Logged when the reason changes, not every round: a dead peer is reported once.
        if self._failing.get(url) != reason:
            self._failing[url] = reason
            log.warning("anti-entropy with %s failed: %s", redact_url(url), reason)


def _parse_digests(body: bytes) -> dict[str, int]:
    try:
        document = _decode_digests(body)
    except msgspec.DecodeError:
        raise RoundFailed("apps/digests: undecodable body") from None
    digests: dict[str, int] = {}
    for app, text in document.applications.items():
        value = parse_digest(text)
        if value is None:
            raise RoundFailed(f"apps/digests: bad digest for {app[:64]}")
        digests[app.upper()] = value
    return digests


def _nothing() -> None:
    pass
