"""The 'rasa' backend against a fake Rasa server on 127.0.0.1 (port 0)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from crmbot.config import NLUSettings
from nlu import load_parser

from .conftest import NOW, TZ

RECEIVED: list[dict] = []


class FakeRasa(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        RECEIVED.append({"path": self.path, "body": body})
        text = body["text"]
        answer = {
            "text": text,
            "intent": {"name": "set_reminder", "confidence": 0.93},
            "intent_ranking": [{"name": "set_reminder", "confidence": 0.93}, {"name": "log_visit", "confidence": 0.05}],
            "entities": [
                {"entity": "time", "start": 0, "end": 3, "value": "下周三", "extractor": "DIETClassifier"},
                {"entity": "amount", "start": 9, "end": 12, "value": "三千五", "extractor": "DIETClassifier"},
                {"entity": "contact", "start": 6, "end": 8, "value": "林总", "extractor": "DIETClassifier"},
            ],
        }
        data = json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def rasa_url():
    server = HTTPServer(("127.0.0.1", 0), FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_rasa_backend_normalizes(rasa_url):
    parser = load_parser(NLUSettings(backend="rasa", rasa_url=rasa_url, rasa_timeout_seconds=2), TZ)
    result = parser.parse("下周三提醒我给林总报三千五", NOW)
    assert RECEIVED[-1] == {"path": "/model/parse", "body": {"text": "下周三提醒我给林总报三千五"}}
    assert result["intent"]["name"] == "set_reminder"
    values = {e["entity"]: e["value"] for e in result["entities"]}
    assert values["time"] == "2026-12-02T00:00:00+08:00"
    assert values["amount"] == 3500
    assert values["contact"] == "林总"


def test_rasa_backend_down_never_raises():
    parser = load_parser(NLUSettings(backend="rasa", rasa_url="http://127.0.0.1:9", rasa_timeout_seconds=0.5), TZ)
    result = parser.parse("你好", NOW)
    assert result["intent"]["name"] == "out_of_scope"
