"""The asyncio driver of one peer: ships the dispatcher's batches over HTTP (protocol.md §8.2/8.4).

All decisions (batching, dedup, retries, pauses, follow-ups) live in the pure `TaskDispatcher`;
this module only waits until the dispatcher says a batch may be ready, POSTs it, and classifies
the HTTP outcome the way Java's `ReplicationTaskProcessor` does:

* 2xx → per-item results (a body that is not a response list is a permanent failure);
* 503, or a read timeout → congestion (Java matches "read … time … out" in the exception);
* any other transport error (connect refused/timeout, reset, protocol error) → transient,
  as Java treats every IOException;
* any other status or exception → permanent.

Submitting wakes the driver only when the dispatcher says the next batch may now be due earlier
(`TaskDispatcher.submit`'s answer): on a node taking thousands of renewals per second, waking it
for every task cost more than the replication itself.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import ssl
from collections.abc import Awaitable, Callable

import httpx

from eureka.errors import BadInput
from eureka.log_throttle import FirstFailure, LogThrottle, Recovered, StillFailing
from eureka.urls import redact_url

from .dispatcher import (
    Batch,
    BatchOutcome,
    Congestion,
    DispatcherStats,
    FollowUp,
    PermanentFailure,
    Success,
    TaskDispatcher,
    TransientFailure,
)
from .peers import normalize_peer_url
from .protocol import (
    DEFAULT_MAX_BATCH_BYTES,
    ReplicationTask,
    decode_batch_response,
    encode_batch,
)

__all__ = [
    "BATCH_PATH",
    "REPLICATION_HEADERS",
    "PeerNode",
    "classify_exception",
    "classify_response",
    "peer_http_client",
]

log = logging.getLogger("eureka.replication")

# Java's PeerEurekaNode.BATCH_URL_PATH, appended verbatim to the peer's service URL.
BATCH_PATH = "peerreplication/batch/"
# What JerseyReplicationClient sends (§8.2): JSON both ways and the server identity; the batch
# carries no x-netflix-discovery-replication header because every item counts as replicated.
REPLICATION_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "DiscoveryIdentity-Name": "DefaultServer",
    "DiscoveryIdentity-Version": "1.0",
    "User-Agent": "eureka-py-Replication",
}

FollowUpHandler = Callable[[FollowUp], Awaitable[None] | None]


def peer_http_client(
    *,
    connect_timeout_ms: int = 1000,
    read_timeout_ms: int = 5000,
    max_connections: int = 1000,
    idle_timeout_s: float = 30.0,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    """An httpx client with Eureka's peer transport defaults (§8.4, §11.2); `verify` is
    `eureka.tls.client_verify(trust_store)` for https peers."""
    return httpx.AsyncClient(
        verify=verify,
        timeout=httpx.Timeout(
            read_timeout_ms / 1000,
            connect=connect_timeout_ms / 1000,
            # Waiting for a pooled connection means we already have too much in flight: treat
            # running out like the peer being slow rather than waiting without bound.
            pool=read_timeout_ms / 1000,
        ),
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=idle_timeout_s,
        ),
    )


def classify_exception(error: BaseException) -> BatchOutcome:
    if isinstance(error, (httpx.ReadTimeout, httpx.PoolTimeout)):
        return Congestion(f"{type(error).__name__}")
    if isinstance(error, httpx.TransportError):
        return TransientFailure(f"{type(error).__name__}: {error}")
    return PermanentFailure(f"{type(error).__name__}: {error}")


def classify_response(status_code: int, body: bytes, max_bytes: int) -> BatchOutcome:
    if 200 <= status_code < 300:
        try:
            return Success(decode_batch_response(body, max_bytes=max_bytes))
        except BadInput as error:
            return PermanentFailure(f"undecodable batch response: {error.reason}")
    if status_code == 503:
        return Congestion("503 Service Unavailable")
    return PermanentFailure(f"HTTP {status_code}")


class PeerNode:
    """Replication to one peer: `submit` tasks, `start()` once inside the event loop, `close()`."""

    def __init__(
        self,
        url: str,
        dispatcher: TaskDispatcher,
        http: httpx.AsyncClient,
        on_followup: FollowUpHandler,
        *,
        max_response_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    ) -> None:
        # Credentials in the URL (`http://user:pass@host/eureka/`) go out as basic auth, as Java
        # peers send them; `display` is the URL without the password, for logs and the status.
        self.url = normalize_peer_url(url)
        self.display = redact_url(self.url)
        self.batch_url = self.url + BATCH_PATH
        self.dispatcher = dispatcher
        self._http = http
        self._on_followup = on_followup
        self._max_response_bytes = max_response_bytes
        self._wakeup = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._closed = False
        self.last_error: str | None = None
        # A dead peer fails every batch: one warning, a summary a minute, one "recovered".
        self._throttle = LogThrottle(dispatcher.clock)

    # ---------------------------------------------------------------- public

    def start(self) -> None:
        if self._runner is None and not self._closed:
            self._runner = asyncio.get_running_loop().create_task(
                self._run(), name=f"replication→{self.display}"
            )

    def submit(self, task: ReplicationTask) -> None:
        if self._closed:
            return
        if self.dispatcher.submit(task.task_id, task.item, task.expiry_ms):
            self._wakeup.set()

    def wake(self) -> None:
        """Re-evaluate now (after submitting to the dispatcher directly)."""
        self._wakeup.set()

    def stats(self) -> DispatcherStats:
        return self.dispatcher.stats()

    async def close(self) -> None:
        """Stop shipping; pending and in-flight tasks are abandoned (as Java's shutDown does)."""
        self._closed = True
        tasks = [t for t in (self._runner, *self._sends) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._sends.clear()
        self._runner = None

    # ---------------------------------------------------------------- loop

    async def _run(self) -> None:
        dispatcher = self.dispatcher
        clock = dispatcher.clock
        while not self._closed:
            # Cleared before polling: a submit or a batch result after this point sets it again.
            self._wakeup.clear()
            while (batch := dispatcher.next_batch()) is not None:
                send = asyncio.create_task(self._ship(batch))
                self._sends.add(send)
                send.add_done_callback(self._sends.discard)
            wake_at = dispatcher.next_wakeup()
            delay = None if wake_at is None else max(0.0, wake_at - clock.monotonic())
            try:
                async with asyncio.timeout(delay):
                    await self._wakeup.wait()
            except TimeoutError:
                pass

    async def _ship(self, batch: Batch) -> None:
        outcome = await self._post(batch)
        if isinstance(outcome, Success):
            self._report(self._throttle.succeeded())
        else:
            self.last_error = outcome.reason
            self._report(self._throttle.failed(outcome.reason))
        follow_ups = self.dispatcher.on_batch_result(batch, outcome)
        self._wakeup.set()
        for follow_up in follow_ups:
            try:
                result = self._on_followup(follow_up)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("replication follow-up %r for %s failed", follow_up, self.display)

    def _report(self, report: FirstFailure | StillFailing | Recovered | None) -> None:
        match report:
            case FirstFailure(reason):
                log.warning(
                    "peer unreachable", extra={"fields": {"peer": self.display, "reason": reason}}
                )
            case StillFailing(failures, failing_s, reason):
                log.warning(
                    "peer still unreachable",
                    extra={
                        "fields": {
                            "peer": self.display,
                            "failed_batches": failures,
                            "for_s": round(failing_s),
                            "reason": reason,
                        }
                    },
                )
            case Recovered(failures, failing_s):
                log.info(
                    "peer recovered",
                    extra={
                        "fields": {
                            "peer": self.display,
                            "failed_batches": failures,
                            "after_s": round(failing_s, 1),
                        }
                    },
                )

    async def _post(self, batch: Batch) -> BatchOutcome:
        try:
            body = encode_batch(batch.items)
            response = await self._http.post(
                self.batch_url, content=body, headers=REPLICATION_HEADERS
            )
        except Exception as error:
            return classify_exception(error)
        return classify_response(response.status_code, response.content, self._max_response_bytes)
