"""A scheduler process for the multi-process test: python -m tests.scheduler.proc_main DB_URL SENT_LOG.

Runs start_scheduler with fast timings and a sender that appends every delivered text to SENT_LOG.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from crmbot.config import Config
from crmbot.wiring import open_database
from dialogs.reply import Reply
from scheduler import run_scheduler


class FileSender:
    channel = "telegram"

    def __init__(self, path: str) -> None:
        self.path = path

    def send(self, external_id: str, reply: Reply, options: dict | None = None) -> None:
        line = f"{os.getpid()}\t{external_id}\t{reply.text.splitlines()[0]}\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())  # one write with O_APPEND: lines from two processes never interleave
        finally:
            os.close(fd)


def main() -> None:
    url, log_path = sys.argv[1], sys.argv[2]
    config = Config.model_validate({
        "database": {"url": url},
        "data_dir": str(Path(log_path).parent / "var"),
        "scheduler": {"reminder_scan_seconds": 1, "leader_retry_seconds": 0.5, "poll_seconds": 0.2,
                      "batch_size": 5},
    })
    runtime = open_database(config, migrate=False)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_scheduler(runtime, {"telegram": FileSender(log_path)}, stop)


if __name__ == "__main__":
    main()
