"""Names (customer, contact, product, staff, member) by a character-level BIO tagger (CRFsuite).

The tagger is python-crfsuite's own: it opens the model bytes CRFsuite wrote at training time, so loading
needs no scikit-learn. nlu.crf_training trains it from the same char_features.
"""

from __future__ import annotations

import pycrfsuite

NAME_ENTITIES = ("customer", "contact", "product", "staff", "member")
MAX_ENTITY_CHARS = 2000


def _ctype(ch: str) -> str:
    if ch.isdigit():
        return "d"
    if ch.isascii() and ch.isalpha():
        return "a"
    if ch.isspace():
        return "s"
    if "\u4e00" <= ch <= "\u9fff":
        return "h"
    return "p"


def char_features(text: str, tokens: list[tuple[str, int, int]], rule_spans: list[dict]) -> list[dict]:
    n = len(text)
    word_of = [("", "O", 0)] * n
    ctx = [("", "")] * n  # previous / next word around the word holding the char
    for k, (w, s, e) in enumerate(tokens):
        prev_w = tokens[k - 1][0] if k > 0 else "<s>"
        next_w = tokens[k + 1][0] if k + 1 < len(tokens) else "</s>"
        for i in range(s, min(e, n)):
            pos = "S" if e - s == 1 else "B" if i == s else "E" if i == e - 1 else "M"
            word_of[i] = (w, pos, e - s)
            ctx[i] = (prev_w, next_w)
    rule_of = [""] * n
    for ent in rule_spans:
        for i in range(ent["start"], min(ent["end"], n)):
            rule_of[i] = ent["entity"]
    padded = "\x02\x02" + text + "\x03\x03"
    feats = []
    for i in range(n):
        j = i + 2
        w, pos, wl = word_of[i]
        f = {
            "c": padded[j], "c-1": padded[j - 1], "c+1": padded[j + 1], "c-2": padded[j - 2], "c+2": padded[j + 2],
            "b-1": padded[j - 1 : j + 1], "b+1": padded[j : j + 2], "b-2": padded[j - 2 : j],
            "b+2": padded[j + 1 : j + 3], "t": _ctype(padded[j]), "wp": pos, "wl": min(wl, 5), "r": rule_of[i],
        }
        if wl > 1:
            f["w"] = w
        if pos in ("B", "S"):
            f["pw"] = ctx[i][0]
        if pos in ("E", "S"):
            f["nw"] = ctx[i][1]
        feats.append(f)
    return feats


def bio_labels(text: str, entities: list[dict]) -> list[str]:
    labels = ["O"] * len(text)
    for e in entities:
        if e["entity"] in NAME_ENTITIES:
            labels[e["start"]] = "B-" + e["entity"]
            for i in range(e["start"] + 1, e["end"]):
                labels[i] = "I-" + e["entity"]
    return labels


class CRFTagger:
    def __init__(self, model_bytes: bytes) -> None:
        self.model_bytes = model_bytes
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open_inmemory(model_bytes)

    def tag(self, features: list[dict]) -> list[str]:
        return self._tagger.tag(features)

    def find(self, text: str, tokens: list, rule_spans: list[dict]) -> list[dict]:
        if not text:
            return []
        labels = self.tag(char_features(text, tokens, rule_spans))
        out: list[dict] = []
        start, label = None, None
        for i, tag in enumerate([*labels, "O"]):
            if start is not None and not (tag.startswith("I-") and tag[2:] == label):
                s, e = start, i
                while s < e and text[s].isspace():
                    s += 1
                while e > s and text[e - 1].isspace():
                    e -= 1
                # A name never spans whitespace (voice input separates fields with spaces): split there.
                piece_start = s
                for k in range(s, e + 1):
                    if k == e or text[k].isspace():
                        if k > piece_start:
                            out.append({"entity": label, "start": piece_start, "end": k,
                                        "text": text[piece_start:k], "value": text[piece_start:k],
                                        "extractor": "CRFEntityExtractor"})
                        piece_start = k + 1
                start, label = None, None
            if tag.startswith("B-") or (tag.startswith("I-") and start is None):
                start, label = i, tag[2:]
        return out
