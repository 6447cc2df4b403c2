"""A toy platform, to show that a channel is one file: settings, routes, send, registered by name."""

from __future__ import annotations

import hmac
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels import register
from bot.channels.base import Channel, ChannelSettings, DeliveryError, Inbound
from crm_store.rules import Secret
from dialogs.reply import Reply


class ToySettings(ChannelSettings):
    secret: Secret = SecretStr("")
    api_url: str = ""

    def problems(self, name: str) -> list[str]:
        return [] if self.secret else [f"channels.{name}.secret 未填写 / missing"]


@register
class ToyChannel(Channel):
    name = "toy"
    settings_model = ToySettings
    settings: ToySettings

    def routes(self) -> list[BaseRoute]:
        return [Route("/toy", self.webhook, methods=["POST"])]

    async def webhook(self, request: Request) -> Response:
        if not hmac.compare_digest(request.headers.get("x-toy-secret", ""), self.settings.secret.get_secret_value()):
            return Response(status_code=403)
        data = await request.json()
        assert self.intake is not None
        new = await self.intake.enqueue(Inbound(self.name, str(data["user"]), str(data["id"]), str(data["text"])))
        return JSONResponse({"ok": True, "new": new})

    def send(self, external_id: str, reply: Reply, options: dict[str, Any] | None = None) -> None:
        try:
            httpx.post(f"{self.settings.api_url}/toy/send", json={"to": external_id, "text": reply.text},
                       timeout=5).raise_for_status()
        except httpx.HTTPError as exc:
            raise DeliveryError(str(exc)) from exc
