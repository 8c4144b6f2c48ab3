"""A bare long-poll stack: the propagation benchmark's reference, measured in the same run.

The same serving stack as `eureka server` — granian's embedded RSGI server on uvloop, one
process, the same backpressure — holding every GET until a POST arrives, then answering all of
them with one fixed body. No registry, no cursor, no digest: what is left of the registry's
propagation time once this is subtracted is what our watch machinery costs.

Usage: python -m bench.watch.bare PORT
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

import uvloop
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server.embed import Server

_BODY = b'{"applications":{"versions__delta":"1","apps__hashcode":"UP_1_","application":[]}}'
_HEADERS = [("content-type", "application/json")]


class _Hub:
    def __init__(self) -> None:
        self.waiting: list[asyncio.Future[None]] = []

    async def __call__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return
        if scope.method == "POST":
            waiting, self.waiting = self.waiting, []
            for future in waiting:
                if not future.done():
                    future.set_result(None)
            protocol.response_empty(204, [])
            return
        if scope.path == "/count":
            protocol.response_bytes(200, _HEADERS, str(len(self.waiting)).encode())
            return
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        await future
        protocol.response_bytes(200, _HEADERS, _BODY)


async def _serve(port: int) -> None:
    server = Server(
        _Hub(),
        address="127.0.0.1",
        port=port,
        interface=Interfaces.RSGI,
        backpressure=16384,
        backlog=2048,
        log_level=LogLevels.warning,
        log_access=False,
    )
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, server.stop)  # type: ignore[no-untyped-call]
    await server.serve()


if __name__ == "__main__":
    uvloop.run(_serve(int(sys.argv[1])))
