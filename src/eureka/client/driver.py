"""Running a pure client operation over a transport: the only place the two façades differ.

An operation is a generator that yields `Request`s and returns a result (`state.Op`). The drivers
send each request through the transport and feed back the response, or throw the transport's
`TransportError` into the operation, which decides what a failure means. Both close the operation
in a `finally` (as httpx does with its auth flows): a cancelled long-poll must not leave its
generator suspended until garbage collection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import TypeVar

from eureka.client.messages import Request, Response, TransportError
from eureka.client.state import Op

__all__ = ["run_async", "run_sync"]

T = TypeVar("T")

SyncSend = Callable[[Request], Response]
AsyncSend = Callable[[Request], Awaitable[Response]]


def run_sync(op: Op[T], send: SyncSend, lock: AbstractContextManager[object] | None = None) -> T:
    """Drive `op` with a blocking `send`. `lock` (if given) is held while the pure core runs and
    released during I/O, so that readers in other threads never see a half-applied delta."""
    guard = lock if lock is not None else contextlib.nullcontext()
    outcome: Response | TransportError | None = None
    try:
        while True:
            with guard:
                try:
                    if outcome is None:
                        request = next(op)
                    elif isinstance(outcome, TransportError):
                        request = op.throw(outcome)
                    else:
                        request = op.send(outcome)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
            try:
                outcome = send(request)
            except TransportError as exc:
                outcome = exc
    finally:
        with guard:
            op.close()


async def run_async(op: Op[T], send: AsyncSend) -> T:
    """Drive `op` with an async `send` in the caller's event loop."""
    outcome: Response | TransportError | None = None
    try:
        while True:
            try:
                if outcome is None:
                    request = next(op)
                elif isinstance(outcome, TransportError):
                    request = op.throw(outcome)
                else:
                    request = op.send(outcome)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            try:
                outcome = await send(request)
            except TransportError as exc:
                outcome = exc
    finally:
        op.close()
