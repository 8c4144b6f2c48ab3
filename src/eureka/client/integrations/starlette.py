"""A Starlette / FastAPI lifespan that registers the app once it has started and leaves cleanly.

    app = FastAPI(lifespan=eureka_lifespan(load_config("eureka.yaml")))

    @app.get("/orders")
    async def orders(request: Request):
        instance = request.state.eureka.next_server("inventory-service")

The client starts before the application's own lifespan (`inner`) runs, so the registry is
fetched and the client usable during startup, but it registers only once that startup is complete
(Spring Cloud registers on its web server's "initialized" event likewise); on shutdown it goes
DOWN and cancels its registration. If startup fails, it never registers. The client is exposed
as lifespan state (`eureka`, i.e. `request.state.eureka`) and as `app.state.eureka`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from eureka.client.async_client import AsyncDiscoveryClient
from eureka.client.config import EurekaConfig

__all__ = ["eureka_lifespan"]

Lifespan = Callable[[Any], AbstractAsyncContextManager[Mapping[str, Any] | None]]


def eureka_lifespan(
    config: EurekaConfig | None = None,
    *,
    client: AsyncDiscoveryClient | None = None,
    inner: Lifespan | None = None,
    state_key: str = "eureka",
    **client_options: Any,
) -> Callable[[Any], AbstractAsyncContextManager[dict[str, Any]]]:
    """Build a lifespan; `inner` is the application's own lifespan, run inside ours."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        eureka = client or AsyncDiscoveryClient(config, **client_options)
        await eureka.start(register=False)
        state: dict[str, Any] = {state_key: eureka}
        app_state = getattr(app, "state", None)
        if app_state is not None:
            setattr(app_state, state_key, eureka)
        try:
            if inner is None:
                eureka.register_soon()
                yield state
            else:
                async with inner(app) as inner_state:
                    eureka.register_soon()
                    yield {**(inner_state or {}), **state}
        finally:
            await eureka.stop()

    return lifespan
