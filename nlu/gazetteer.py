"""GazetteerEntityExtractor: longest-match lookup of CRM names (customer, contact, product, staff, member)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

LOOKUP_ENTITIES = ("customer", "contact", "product", "staff", "member")


class GazetteerEntityExtractor:
    name = "GazetteerEntityExtractor"

    def __init__(self, add_words: Callable[[Iterable[str]], None] | None = None) -> None:
        # The parser's tokenizer learns the same names, so they stay whole words for the CRF.
        self._add_words = add_words
        self.sources: dict[tuple[str, str], set[str]] = {}
        self._index: dict[str, str] = {}
        self._lengths: list[int] = []

    def set_lookup(self, entity: str, names: Iterable[str], source: str = "default") -> None:
        clean = {n.strip() for n in names if isinstance(n, str) and n.strip()}
        self.sources[(entity, source)] = clean
        if self._add_words is not None:
            self._add_words(clean)
        index: dict[str, str] = {}
        for (ent, _src), group in sorted(self.sources.items()):
            for name in group:
                index[name] = ent
        self._index = index
        self._lengths = sorted({len(n) for n in index}, reverse=True)

    def train(self, examples: list) -> None:
        pass

    def find(self, text: str) -> list[dict]:
        out: list[dict] = []
        if not self._index:
            return out
        i, n = 0, len(text)
        while i < n:
            for length in self._lengths:
                if i + length <= n:
                    ent = self._index.get(text[i : i + length])
                    if ent:
                        out.append({"entity": ent, "start": i, "end": i + length, "text": text[i : i + length],
                                    "value": text[i : i + length], "extractor": self.name, "confidence": 1.0})
                        i += length
                        break
            else:
                i += 1
        return out

    def process(self, message: dict) -> None:
        message["gazetteer"] = self.find(message["work_text"])
