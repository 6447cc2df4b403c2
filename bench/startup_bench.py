"""How fast `crmbot run` is ready after a (re)start: process start → /healthz 200 with the webhooks
answering, with a trained model on disk (the model then loads in the background).

Prints wall seconds and the process's own CPU seconds at that moment (CPU is what this machine's load
does not inflate), the load average, and when the NLU finished loading.

    python bench/startup_bench.py [--runs 3] [--postgres]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    NLU_MODEL_PATH,
    REPO,
    ensure_model,
    free_port,
    load_average,
    machine_line,
    new_aes_key,
    throwaway_pg,
)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def one_start(config: Path, port: int) -> tuple[float, float, float | None]:
    env = {**os.environ, "CRMBOT_CONFIG": str(config)}
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "crmbot.cli", "run"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready = cpu = None
    nlu = None
    try:
        while time.monotonic() - started < 60:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                if health.status_code == 200:
                    if ready is None:
                        ready, cpu = time.monotonic() - started, cpu_seconds(process.pid)
                    if health.json().get("nlu") == "ok":
                        nlu = time.monotonic() - started
                        break
            except httpx.TransportError:
                pass
            time.sleep(0.01)
    finally:
        process.terminate()
        process.wait(30)
    if ready is None or cpu is None:
        raise RuntimeError("crmbot run did not become ready")
    return ready, cpu, nlu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    ensure_model()
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp, (throwaway_pg("crmbot_start") if args.postgres
                                                else _sqlite(Path(tmp))) as url:
        port = free_port()
        config = Path(tmp) / "crmbot.yml"
        config.write_text(yaml.safe_dump({
            "database": {"url": url}, "nlu": {"model_path": NLU_MODEL_PATH},
            "server": {"host": "127.0.0.1", "port": port, "token_cache_url": ""},
            "channels": {"wechat": {"enabled": True, "app_id": "wxstart", "secret": "s", "token": "t",
                                    "encoding_aes_key": new_aes_key()}},
            "scheduler": {"enabled": True},
        }), encoding="utf-8")
        one_start(config, port)  # the first start migrates the database
        for run in range(args.runs):
            ready, cpu, nlu = one_start(config, port)
            print(f"run {run + 1}: ready (healthz 200, webhooks answering) after {ready:.2f} s wall, "
                  f"{cpu:.2f} s CPU; NLU loaded after {nlu or float('nan'):.2f} s; load average {load_average()}")


class _sqlite:
    def __init__(self, folder: Path) -> None:
        self.url = f"sqlite:///{folder / 'start.db'}"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    main()
