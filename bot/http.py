"""The one HTTP server: /healthz plus each enabled channel's routes (Starlette on uvicorn).

Channels connect to their platforms in the background after the server is up: a platform that cannot
be reached (Telegram from mainland China, say) is reported in Chinese and in /healthz, and the other
channels serve on. Webhooks answer as soon as the port is bound; the inbox keeps what arrives while
the NLU is still loading.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import messages as BM
from bot.channels.base import Channel

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]
# Named checks for /healthz: "ok" is healthy, anything else is shown and makes the answer 503.
HealthCheck = Callable[[], dict[str, str]]
START_TIMEOUT_SECONDS = 60.0


class ChannelStarter:
    """Starts each channel on its own; remembers how each one fared, for /healthz and the log."""

    def __init__(self, channels: Iterable[Channel], announce: Callable[[str], None] = log.warning) -> None:
        self.channels = list(channels)
        self.status: dict[str, str] = {c.name: "starting" for c in self.channels}
        self.announce = announce
        self._tasks: list[asyncio.Task[None]] = []

    def start_all(self) -> None:
        self._tasks = [asyncio.create_task(self._start(c)) for c in self.channels]

    async def wait(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _start(self, channel: Channel) -> None:
        try:
            await asyncio.wait_for(channel.start(), START_TIMEOUT_SECONDS)
        except Exception as exc:  # one platform failing must not stop the others
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.status[channel.name] = f"failed: {reason[:200]}"
            self.announce(BM.RUN_CHANNEL_FAILED.format(channel=channel.name, reason=reason[:200]))
            return
        self.status[channel.name] = "ok"
        log.info(BM.RUN_CHANNEL_READY.format(channel=channel.name))

    async def stop_all(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for channel in self.channels:
            try:
                await channel.stop()
            except Exception:
                log.warning("channel %s did not stop cleanly", channel.name, exc_info=True)


def build_app(
    channels: Iterable[Channel] = (),
    *,
    health: HealthCheck | None = None,
    info: Callable[[], dict[str, str]] | None = None,
    on_startup: list[Hook] | None = None,
    on_shutdown: list[Hook] | None = None,
    announce: Callable[[str], None] = log.warning,
) -> Starlette:
    channels = list(channels)
    starter = ChannelStarter(channels, announce)

    async def healthz(request: Request) -> Response:
        checks = await asyncio.to_thread(health) if health is not None else {}
        healthy = all(v == "ok" for v in checks.values())
        extra = info() if info is not None else {}  # shown, not judged: e.g. the NLU still loading
        return JSONResponse({"status": "ok" if healthy else "degraded", "channels": dict(starter.status),
                             **extra, **checks}, status_code=200 if healthy else 503)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    for channel in channels:
        routes.extend(channel.routes())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        starter.start_all()
        for hook in on_startup or []:
            await hook()
        try:
            yield
        finally:
            for hook in on_shutdown or []:
                await hook()
            await starter.stop_all()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.channels = starter
    return app
