"""The CRF's training, in a small fresh process beside the intent models' fit.

Why a fresh interpreter rather than a fork: CRFsuite holds the GIL, so the CRF needs its own process to run
beside the intent fit; a forked child shares the trainer's whole heap (jieba's dictionary, the token memo), and
both processes then pay for copying every page they touch (~0.4 s of CPU here). This one imports only
python-crfsuite and nlu.crf, and gets the texts with their tokens and rule spans through a pipe.

    python -m nlu.crf_training  < pickle of (params, samples)  > CRFsuite model bytes
"""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

from nlu.crf import char_features

# text, its jieba tokens (word, start, end), its rule entity spans, its BIO labels
Sample = tuple[str, list[tuple[str, int, int]], list[dict], list[str]]


def train_crf(samples: list[Sample], params: dict) -> bytes:
    """CRFsuite's model file, as bytes (the same trainer and parameters sklearn-crfsuite used)."""
    import pycrfsuite

    trainer = pycrfsuite.Trainer(algorithm="lbfgs", params=params, verbose=False)
    for text, tokens, rules, labels in samples:
        trainer.append(char_features(text, tokens, rules), labels)
    fd, path = tempfile.mkstemp(suffix=".crfsuite")
    os.close(fd)
    try:
        trainer.train(path, holdout=-1)
        return Path(path).read_bytes()
    finally:
        os.unlink(path)


class CRFJob:
    """train_crf running in a child interpreter; result() waits for its model bytes."""

    def __init__(self, samples: list[Sample], params: dict) -> None:
        package_root = str(Path(__file__).resolve().parent.parent)  # the child runs this very code
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root,
                                                                          os.environ.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen([sys.executable, "-m", "nlu.crf_training"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        stdin, self.proc.stdin = self.proc.stdin, None  # written and closed here; communicate() only reads
        assert stdin is not None
        try:
            with stdin:
                stdin.write(pickle.dumps((params, samples), protocol=pickle.HIGHEST_PROTOCOL))
        except BrokenPipeError:  # the child died at start; result() reports its stderr
            pass

    def result(self) -> bytes:
        out, err = self.proc.communicate()
        if self.proc.returncode != 0 or not out:
            raise RuntimeError(f"CRF training failed (exit {self.proc.returncode}): "
                               f"{err.decode(errors='replace')[-2000:]}")
        return out

    def cancel(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def main() -> None:
    gc.disable()  # a run of ~10^5 short-lived feature dicts and no cycles; the process ends right after
    params, samples = pickle.load(sys.stdin.buffer)
    sys.stdout.buffer.write(train_crf(samples, params))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
