"""Customer names as people type them: typos (海康微视), short forms (苏宁) and same-sounding characters.

Candidates are only ever suggested ("您是说 … 吗？"), never picked: the dialog asks. Matching is by pinyin
(pypinyin) and edit distance (rapidfuzz), over the customers the actor may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from crm_store.models import Customer
from crm_store.services.common import Actor, name_key, visible_customers_clause
from crm_store.services.customers import NAME_SUFFIXES

PINYIN_MIN = 90  # partial ratio of the typed name's pinyin inside the customer's pinyin
CHARS_MIN = 50  # ... and at least this much of the characters in common (海康微视 ~ 海康威视: 75)
SHORT_MIN_CHARS = 2


@dataclass(frozen=True)
class Suggestion:
    customer: Customer
    score: float


@lru_cache(maxsize=8192)
def pinyin(text: str) -> str:
    return "".join(lazy_pinyin(text))


def core_name(name: str) -> str:
    """杭州海康威视数字技术股份有限公司 -> 杭州海康威视数字技术 (the legal-form suffix goes)."""
    key = name_key(name)
    for suffix in NAME_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix) + 1:
            return key[: -len(suffix)]
    return key


def is_exact(customer: Customer, query: str) -> bool:
    """The typed name is the customer's name or one of its aliases (legal-form suffix aside)."""
    key = core_name(query)
    return key in {core_name(customer.name), *(core_name(a.alias) for a in customer.aliases)}


def _visible(session: Session, actor: Actor) -> list[Customer]:
    if actor.staff_id is None:
        return []
    stmt = select(Customer).where(visible_customers_clause(actor)).options(selectinload(Customer.aliases))
    return list(session.scalars(stmt))


def _score(query: str, name: str) -> float:
    typed, known = core_name(query), core_name(name)
    if len(typed) < SHORT_MIN_CHARS or not known:
        return 0.0
    chars = fuzz.partial_ratio(typed, known)
    if len(typed) <= SHORT_MIN_CHARS and chars < 100:
        # Two characters, one of them different: a slip at the start of a name (瑞兴 for 瑞幸咖啡), never a
        # sound met inside a longer one (格力 in 上海静安香格里拉大酒店).
        known = known[: len(typed)]
    sound = fuzz.partial_ratio(pinyin(typed), pinyin(known)) if len(pinyin(typed)) >= 4 else 0.0
    if sound >= PINYIN_MIN and chars >= CHARS_MIN:
        return (sound + chars) / 2
    return 0.0


def similar_customers(session: Session, actor: Actor, query: str, limit: int = 3) -> list[Suggestion]:
    """Visible customers whose name or alias sounds and looks like `query`, best first."""
    found: list[Suggestion] = []
    for customer in _visible(session, actor):
        score = max(_score(query, n) for n in [customer.name, *(a.alias for a in customer.aliases)])
        if score > 0:
            found.append(Suggestion(customer, score))
    found.sort(key=lambda s: (-s.score, len(s.customer.name), s.customer.id))
    return found[:limit]


def mention_length(customer: Customer, key: str) -> int:
    """How many leading characters of the customer's name or an alias (legal form aside) are written in `key`
    (a name_key of the text): 2 for 海康 of 海康威视; 0 when fewer than SHORT_MIN_CHARS."""
    best = 0
    for name in [customer.name, *(a.alias for a in customer.aliases)]:
        core = core_name(name)
        for size in range(len(core), SHORT_MIN_CHARS - 1, -1):
            if core[:size] in key:
                best = max(best, size)
                break
    return best


def customers_mentioned(session: Session, actor: Actor, text: str, limit: int = 3) -> list[Customer]:
    """Visible customers whose name (legal form aside) begins with a run of at least two characters that
    is written in `text` (苏宁 of 苏宁易购); only the longest runs count."""
    key = name_key(text)
    found: list[tuple[int, Customer]] = []
    for customer in _visible(session, actor):
        best = mention_length(customer, key)
        if best >= SHORT_MIN_CHARS:
            found.append((best, customer))
    if not found:
        return []
    top = max(size for size, _ in found)
    return [c for size, c in sorted(found, key=lambda f: (-f[0], f[1].id)) if size == top][:limit]
