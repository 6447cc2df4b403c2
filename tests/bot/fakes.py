"""Real servers on 127.0.0.1 for the channel tests: a fake Telegram Bot API + Tencent API that records
every call (in the style of opsdroid's ExternalAPIMockServer), and a uvicorn-in-a-thread runner."""

from __future__ import annotations

import email.parser
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_USER = {"id": 777000, "is_bot": True, "first_name": "销售助手", "username": "crm_test_bot"}


class ServerThread:
    """Run an ASGI app with uvicorn on a free port in a background thread."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

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
        port = self.server.servers[0].sockets[0].getsockname()[1]
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
    """Telegram under /bot<token>/<method>, Tencent under /cgi-bin/..."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._message_id = 5000
        self._token = 0
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

    async def handle(self, request: Request) -> JSONResponse:
        params, files = await _params(request)
        path = "/" + request.path_params["path"]
        call = Call(path, request.method, dict(request.query_params), params, files)
        if path.startswith("/bot"):
            call.result = self._telegram(path.rsplit("/", 1)[-1], params)
            answer = {"ok": True, "result": call.result}
        else:
            answer = call.result = self._tencent(path)
        with self.lock:
            self.calls.append(call)
        return JSONResponse(answer)

    def _telegram(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "getUpdates":
            with self.lock:
                offset = int(params.get("offset") or 0)
                pending = [u for u in self.updates if u["update_id"] >= offset]
            if not pending:
                time.sleep(0.05)
            return pending
        if method in ("sendMessage", "sendPhoto", "sendDocument", "editMessageText"):
            with self.lock:
                self._message_id += 1
                message_id = int(params.get("message_id") or self._message_id)
            message: dict[str, Any] = {
                "message_id": message_id, "date": int(time.time()),
                "chat": {"id": int(params.get("chat_id") or 0), "type": "private"}, "from": BOT_USER,
            }
            if method == "sendPhoto":
                message["photo"] = [{"file_id": "p1", "file_unique_id": "u1", "width": 10, "height": 10}]
                message["caption"] = params.get("caption", "")
            elif method == "sendDocument":
                message["document"] = {"file_id": "d1", "file_unique_id": "u2"}
            else:
                message["text"] = params.get("text", "")
            return message
        return True  # answerCallbackQuery, setWebhook, deleteWebhook, ...

    def _tencent(self, path: str) -> dict[str, Any]:
        if path.endswith("/token") or path.endswith("/gettoken"):
            with self.lock:
                self._token += 1
                token = f"TOKEN-{self._token}"
            return {"errcode": 0, "access_token": token, "expires_in": 7200}
        if path.endswith("/media/upload"):
            return {"errcode": 0, "type": "image", "media_id": "MEDIA-1"}
        return {"errcode": 0, "errmsg": "ok"}
