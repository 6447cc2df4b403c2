"""Local fakes of the chat platforms' HTTP APIs, shared by the tests and the benchmarks.

`FakeAPI` serves every platform fake under its own path prefix; `ServerThread` runs it (or our own app)
on 127.0.0.1. Each platform's fake is one module here, registered with @fake_platform.
"""

from __future__ import annotations

import importlib
import pkgutil

from bot.fakes.server import Call, FakeAPI, ServerThread, fake_platform

_LOADED = False


def load_all() -> None:
    global _LOADED
    if _LOADED:
        return
    for module in pkgutil.iter_modules(__path__):
        if module.name != "server":
            importlib.import_module(f"{__name__}.{module.name}")
    _LOADED = True


__all__ = ["Call", "FakeAPI", "ServerThread", "fake_platform", "load_all"]
