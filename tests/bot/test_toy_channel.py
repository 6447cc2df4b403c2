"""Adding a platform is one file plus its fake: tests/bot/toy_channel/channels/toy.py and
tests/bot/toy_channel/fakes/toy.py are dropped into bot.channels / bot.fakes, and nothing else changes —
the config grows a `channels.toy` section, `crmbot run` mounts its route, the inbox dedups its messages,
the outbox delivers its replies, config-check validates it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from crmbot.wiring import Runtime

HERE = Path(__file__).resolve().parent / "toy_channel"


def test_a_toy_channel_is_one_file_plus_its_fake(runtime: Runtime) -> None:
    files = sorted(str(p.relative_to(HERE)) for p in HERE.rglob("*.py") if p.name != "run_toy.py")
    assert files == ["channels/toy.py", "fakes/toy.py"]
    repo = HERE.parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, str(HERE / "run_toy.py"), runtime.config.database.url],
                            capture_output=True, text=True, timeout=120, cwd=repo, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["forbidden"] == 403
    assert seen["first"] == {"ok": True, "new": True} and seen["copy"] == {"ok": True, "new": False}
    assert seen["sent"] == [{"to": "u1", "text": "收到：你好"}]  # one reply, from the outbox
    assert seen["health"]["channels"] == {"toy": "ok"}
    assert seen["problems"] == ["channels.toy.secret 未填写 / missing"]
