"""Real servers on 127.0.0.1 for channel tests and benchmarks: one fake platform API server that records
every call (in the style of opsdroid's ExternalAPIMockServer), and a uvicorn-in-a-thread runner.

Each platform's fake lives beside it (bot/fakes/<platform>.py) and registers the path prefix it answers.
"""

from __future__ import annotations

import asyncio
import email.parser
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

# path prefix -> handler(api, path, params) returning the JSON answer (dict) of that platform
HANDLERS: dict[str, Callable[[FakeAPI, str, dict[str, Any]], Any]] = {}


def fake_platform(prefix: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        HANDLERS[prefix] = handler
        return handler

    return register


class ServerThread:
    """Run an ASGI app (or a prepared uvicorn.Server on its own sockets) on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any = None, *, server: uvicorn.Server | None = None, sockets: list[Any] | None = None
                 ) -> None:
        if server is None:
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
        self.server = server
        self.sockets = sockets
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.server.run(sockets=self.sockets)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    @property
    def url(self) -> str:
        sock = self.sockets[0] if self.sockets else self.server.servers[0].sockets[0]
        port = sock.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@dataclass
class Call:
    path: str
    method: str
    query: dict[str, str]
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    result: Any = None


def _maybe_json(value: str) -> Any:
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


async def _params(request: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    body = await request.body()
    kind = request.headers.get("content-type", "")
    if not body:
        return {}, {}
    if kind.startswith("application/json") or body[:1] == b"{":  # wechatpy posts JSON without a type
        return json.loads(body), {}
    if kind.startswith("multipart/form-data"):
        message = email.parser.BytesParser().parsebytes(b"Content-Type: " + kind.encode() + b"\r\n\r\n" + body)
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for part in message.get_payload():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                files[name] = payload
            else:
                params[name] = _maybe_json(payload.decode("utf-8"))
        return params, files
    parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    return {k: _maybe_json(v[-1]) for k, v in parsed.items()}, {}


class FakeAPI:
    """Every registered platform fake under its own path prefix (Telegram /bot<token>/, Tencent /cgi-bin/)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.counters: dict[str, int] = {}
        # Tests make a platform misbehave: path suffix -> JSON answer returned instead (e.g. no media_id).
        self.overrides: dict[str, Any] = {}
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST"])])

    def named(self, suffix: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.path.endswith(suffix)]

    def wait_for(self, suffix: str, count: int = 1, timeout: float = 15.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.named(suffix)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} call(s) to {suffix}, got {self.named(suffix)}")

    def next(self, counter: str, start: int = 0) -> int:
        with self.lock:
            self.counters[counter] = self.counters.get(counter, start) + 1
            return self.counters[counter]

    async def handle(self, request: Request) -> JSONResponse:
        from bot import fakes

        fakes.load_all()
        params, files = await _params(request)
        path = "/" + request.path_params["path"]
        call = Call(path, request.method, dict(request.query_params), params, files)
        override = next((v for k, v in self.overrides.items() if path.endswith(k)), None)
        handler = next((h for prefix, h in HANDLERS.items() if path.startswith(prefix)), None)
        if override is not None:
            answer = override
        elif handler is None:
            answer = {"ok": False, "error": f"no fake for {path}"}
        else:
            answer = await asyncio.to_thread(handler, self, path, params)
        call.result = answer.get("result", answer) if isinstance(answer, dict) else answer
        with self.lock:
            self.calls.append(call)
        return JSONResponse(answer)
