"""Parse latency of multi-part reports (issue 17), next to single-job messages, on the same model.

    python bench/multi_bench.py [--n 3000] [--model PATH]

The model is loaded the server way (nlu.load_parser; trained into a temporary file when PATH is missing or
stale). Messages: the hand-written held-out multi-part reports (nlu/data/test/multi_test.yml) and the
single-job held-out set; each timed on one core with the same loop as bench/nlu_bench.py (CPU = thread
time, so the other processes on the machine do not count; wall times printed with the load average).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.nlu_bench import _time_parses  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--model", default=str(Path(tempfile.gettempdir()) / "crmbot-multi-bench-model.pkl"))
    args = ap.parse_args()

    from nlu import load_parser
    from nlu.data_io import load_examples, test_file
    from nlu.evaluate import REFERENCE_NOW

    settings = SimpleNamespace(backend="local", model_path=args.model, data_dir="", threshold=0.4)
    parser = load_parser(settings, ZoneInfo("Asia/Shanghai"))
    multi = [ex.text for ex in load_examples(test_file().parent / "multi_test.yml")]
    single = [ex.text for ex in load_examples(test_file())]
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core for latency figures
    parts = sum(len(parser.parse(t, REFERENCE_NOW).get("parts", [])) > 1 for t in multi)
    for label, texts in (("multi-part reports", multi), ("single-job messages", single)):
        s = _time_parses(parser, texts, args.n, REFERENCE_NOW)
        print(f"{label} ({len(texts)} texts, {args.n} parses): CPU p50 {s['cpu_p50']:.2f} ms, p99 "
              f"{s['cpu_p99']:.2f} ms; wall p50 {s['wall_p50']:.2f} ms, p99 {s['wall_p99']:.2f} ms "
              f"(load {s['load']:.1f})")
    print(f"multi-part reports parsed into several parts: {parts}/{len(multi)}")


if __name__ == "__main__":
    main()
