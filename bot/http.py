"""The one HTTP server: /healthz, /telegram/webhook, /wechat, /wecom (Starlette on uvicorn)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.wechat import TencentChannel

if TYPE_CHECKING:
    from bot.telegram import TelegramChannel
    from crmbot.wiring import Runtime

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]


def build_app(
    runtime: Runtime | None = None,
    *,
    telegram: TelegramChannel | None = None,
    wechat: TencentChannel | None = None,
    wecom: TencentChannel | None = None,
    on_startup: list[Hook] | None = None,
    on_shutdown: list[Hook] | None = None,
) -> Starlette:
    async def healthz(request: Request) -> Response:
        checks: dict[str, str] = {}
        if runtime is not None:
            try:
                with runtime.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                checks["database"] = "ok"
            except Exception as exc:  # report, never raise: this is what monitoring reads
                checks["database"] = f"error: {type(exc).__name__}"
        channels = [name for name, c in (("telegram", telegram), ("wechat", wechat), ("wecom", wecom)) if c]
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if healthy else "degraded", "channels": channels, **checks},
                            status_code=200 if healthy else 503)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if telegram is not None:
        routes.append(Route("/telegram/webhook", telegram.webhook, methods=["POST"]))
    for path, channel in (("/wechat", wechat), ("/wecom", wecom)):
        if channel is not None:
            routes.append(Route(path, channel.verify, methods=["GET"]))
            routes.append(Route(path, channel.receive, methods=["POST"]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if telegram is not None:
            await telegram.start()
        for hook in on_startup or []:
            await hook()
        try:
            yield
        finally:
            for hook in on_shutdown or []:
                await hook()
            for channel in (wechat, wecom):
                if channel is not None:
                    await channel.drain()
            if telegram is not None:
                await telegram.stop()

    return Starlette(routes=routes, lifespan=lifespan)
