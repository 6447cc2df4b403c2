"""Run in a child process: the toy channel's two files are added to bot.channels / bot.fakes before the
app config is imported, exactly as if they had been dropped into the package."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent


def main(db_url: str) -> None:
    import bot.channels
    import bot.fakes

    bot.channels.__path__.append(str(HERE / "channels"))
    bot.fakes.__path__.append(str(HERE / "fakes"))
    from bot.fakes import FakeAPI, ServerThread
    from crmbot.config import Config
    from crmbot.serve import bind, build_server

    class Echo:  # the dialogs are not the point here
        def process(self, channel, external_id, text, *, message_id=None, now=None, finish=None):  # type: ignore[no-untyped-def]
            from crm_store.db import transaction
            from dialogs.reply import Outcome, Reply

            outcome = Outcome([Reply(f"收到：{text}")])
            with transaction(served.runtime.factory) as session:
                finish(session, outcome)
            return outcome

    api = FakeAPI()
    with ServerThread(api.app) as fake:
        config = Config.model_validate({"database": {"url": db_url}, "server": {"token_cache_url": ""},
                                        "scheduler": {"enabled": False, "poll_seconds": 0.2},
                                        "channels": {"toy": {"enabled": True, "secret": "t0y", "api_url": fake.url}}})
        problems = Config.model_validate({"channels": {"toy": {"enabled": True}}})
        served = build_server(config, sock=bind("127.0.0.1", 0), dialogs=Echo(), announce=lambda line: None)
        with ServerThread(server=served.server, sockets=[served.sock]) as app:
            served.intake._ready.wait(10)
            forbidden = httpx.post(f"{app.url}/toy", json={"user": "u1", "id": "m1", "text": "你好"}).status_code
            first = httpx.post(f"{app.url}/toy", json={"user": "u1", "id": "m1", "text": "你好"},
                               headers={"x-toy-secret": "t0y"}).json()
            copy = httpx.post(f"{app.url}/toy", json={"user": "u1", "id": "m1", "text": "你好"},
                              headers={"x-toy-secret": "t0y"}).json()
            deadline = time.monotonic() + 20
            while not api.named("/toy/send") and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)
            health = httpx.get(f"{app.url}/healthz").json()
        from crmbot.serve import channel_problems

        print(json.dumps({"forbidden": forbidden, "first": first, "copy": copy,
                          "sent": [c.params for c in api.named("/toy/send")], "health": health,
                          "problems": channel_problems(problems)}, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1])
