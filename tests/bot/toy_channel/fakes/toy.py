"""The toy platform's fake API: accepts /toy/send and records it."""

from __future__ import annotations

from typing import Any

from bot.fakes.server import FakeAPI, fake_platform


@fake_platform("/toy")
def toy_api(api: FakeAPI, path: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True}
