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
REPORT = "见了华为林总，进入商务谈判，预计80万，提醒我明天报价"
# What Rasa answers for a multi-part report with intent_tokenization_flag / intent_split_symbol "+".
MULTI = {REPORT: {
    "text": REPORT,
    "intent": {"name": "log_visit+update_opportunity+set_reminder", "confidence": 0.88},
    "intent_ranking": [{"name": "log_visit+update_opportunity+set_reminder", "confidence": 0.88}],
    "entities": [
        {"entity": "customer", "start": 2, "end": 4, "value": "华为", "extractor": "DIETClassifier"},
        {"entity": "contact", "start": 4, "end": 6, "value": "林总", "extractor": "DIETClassifier"},
        {"entity": "stage", "start": 9, "end": 13, "value": "negotiation", "extractor": "DIETClassifier"},
        {"entity": "amount", "start": 16, "end": 19, "value": "80万", "extractor": "DIETClassifier"},
        {"entity": "time", "start": 23, "end": 25, "value": "明天", "extractor": "DIETClassifier"},
    ],
}}


class FakeRasa(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        RECEIVED.append({"path": self.path, "body": body})
        text = body["text"]
        if text in MULTI:
            answer = MULTI[text]
        else:
            answer = {
            "text": text,
                "intent": {"name": "set_reminder", "confidence": 0.93},
                "intent_ranking": [{"name": "set_reminder", "confidence": 0.93},
                                   {"name": "log_visit", "confidence": 0.05}],
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


def test_rasa_backend_multi_intent_gets_parts(rasa_url):
    """Issue 17: Rasa's combined label is cut into the jobs' clauses, each entity in its job's part."""
    parser = load_parser(NLUSettings(backend="rasa", rasa_url=rasa_url, rasa_timeout_seconds=2), TZ)
    result = parser.parse(REPORT, NOW)
    assert result["intent"]["name"] == "log_visit+update_opportunity+set_reminder"
    jobs = {p["intent"]: {e["entity"]: e["value"] for e in p["entities"]} for p in result["parts"]}
    assert jobs == {"log_visit": {"customer": "华为", "contact": "林总"},
                    "update_opportunity": {"stage": "negotiation", "amount": 800000},
                    "set_reminder": {"time": "2026-11-28T00:00:00+08:00"}}
