"""NLU benchmark: machine info, training time, parse latency p50/p99 and throughput on one core.

    python bench/nlu_bench.py [--n 3000]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cpu_model  # noqa: E402
from nlu.data_io import load_examples, load_training, test_file  # noqa: E402
from nlu.evaluate import REFERENCE_NOW  # noqa: E402
from nlu.model import train_model  # noqa: E402
from nlu.parser import LocalParser  # noqa: E402
from nlu.timeparse import warm_up  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000, help="number of timed parses (>= 2000)")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    print(f"cpu: {cpu_model()}  cores: {os.cpu_count()}  pinned to one core: {hasattr(os, 'sched_setaffinity')}")
    print(f"python: {platform.python_version()} ({platform.python_implementation()})  platform: {platform.platform()}")

    warm_up()
    examples = load_training(None)
    started = time.perf_counter()
    model = train_model(examples)
    print(f"training: {len(examples)} examples in {time.perf_counter() - started:.2f}s")

    parser = LocalParser(model, ZoneInfo("Asia/Shanghai"), 0.4,
                         ["JiebaTokenizer", "IntentClassifier", "RuleEntityExtractor", "GazetteerEntityExtractor",
                          "CRFEntityExtractor", "TimeNormalizer", "AmountNormalizer"])
    gc.collect()
    gc.freeze()  # as load_parser does
    texts = [ex.text for ex in load_examples(test_file())]
    for text in texts:  # warm-up: jieba, sklearn, CRF, time cache
        parser.parse(text, REFERENCE_NOW)
    timings, cpu_timings = [], []
    loop_start = time.perf_counter()
    for i in range(args.n):
        text = texts[i % len(texts)]
        t0, c0 = time.perf_counter(), time.thread_time()
        parser.parse(text, REFERENCE_NOW)
        cpu_timings.append((time.thread_time() - c0) * 1000)
        timings.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - loop_start
    timings.sort()
    cpu_timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[int(len(timings) * 0.99) - 1]
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (other processes share the cores)")
    print(f"parse latency over {args.n} parses of {len(texts)} held-out utterances: "
          f"p50 {p50:.3f} ms  p99 {p99:.3f} ms  max {timings[-1]:.3f} ms (wall clock)")
    print(f"parse CPU time per call: p50 {statistics.median(cpu_timings):.3f} ms  "
          f"p99 {cpu_timings[int(len(cpu_timings) * 0.99) - 1]:.3f} ms (thread_time: excludes preemption)")
    print(f"throughput: {args.n / total:.0f} parses/s on one core")
    print(f"targets: p50 <= 2 ms {'OK' if p50 <= 2 else 'MISSED'}, p99 <= 10 ms {'OK' if p99 <= 10 else 'MISSED'}")


if __name__ == "__main__":
    main()
