"""Import (customers, members, products, staff) from xlsx / csv, and export (customers, visits, orders, members).

Import validates every row first (required fields, lengths, phone format, duplicates against the database
and within the file), reports each rejected row with its line number and reason, then inserts the good rows
and one audit row per record. It only flushes: the caller's transaction makes it all-or-nothing.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, insert, select, true
from sqlalchemy.orm import Session, selectinload

from crm_store import messages as SM
from crm_store.errors import InvalidInput, PermissionDenied
from crm_store.models import (
    LIFECYCLE,
    AuditLog,
    Contact,
    Customer,
    CustomerAlias,
    Member,
    Order,
    PointsLedger,
    Product,
    Staff,
    Visit,
)
from crm_store.services.common import (
    CUSTOMER_ROLES,
    Actor,
    jsonable,
    name_key,
    normalize_phone,
    require_aware,
    to_decimal,
    visible_customers_clause,
)
from crm_store.services.members import normalize_member_no
from crm_store.services.names import entity_changed
from crm_store.services.staff import StaffChecker, create_staff

IMPORT_KINDS = ("customers", "members", "products", "staff")
EXPORT_KINDS = ("customers", "visits", "orders", "members")
FORMATS = ("xlsx", "csv")
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
Progress = Callable[[int, int | None], None]  # (rows done, rows total if known)

# Column names people use, per field; compared without spaces, underscores and case.
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "name": ("客户名称", "客户名", "名称", "客户", "公司名称", "公司", "name", "customer", "customername", "company"),
        "aliases": ("简称", "别名", "alias", "aliases"),
        "industry": ("行业", "industry"),
        "region": ("地区", "城市", "区域", "region", "city"),
        "address": ("地址", "详细地址", "address"),
        "lifecycle": ("阶段", "客户阶段", "lifecycle", "stage"),
        "contact": ("联系人", "联系人姓名", "contact", "contactname"),
        "title": ("职务", "职位", "title"),
        "phone": ("电话", "手机", "手机号", "联系电话", "phone", "mobile", "tel"),
        "owner": ("负责人", "销售", "客户负责人", "owner", "sales"),
    },
    "members": {
        "member_no": ("会员号", "会员编号", "卡号", "memberno", "member", "card"),
        "name": ("姓名", "会员姓名", "名字", "name"),
        "phone": ("手机", "电话", "手机号", "phone", "mobile"),
        "tier": ("等级", "会员等级", "tier", "level"),
        "points": ("积分", "points"),
        "total_spent": ("累计消费", "消费总额", "totalspent"),
        "joined_at": ("入会日期", "注册日期", "joined", "joinedat"),
        "expires_at": ("到期日", "到期日期", "有效期至", "expires", "expiresat"),
        "birthday": ("生日", "birthday"),
        "store": ("门店", "store"),
    },
    "products": {
        "name": ("产品名称", "产品", "名称", "品名", "name", "product"),
        "sku": ("编号", "货号", "产品编号", "sku"),
        "unit": ("单位", "unit"),
        "unit_price": ("单价", "价格", "标准价", "price", "unitprice"),
        "aliases": ("别名", "简称", "aliases", "alias"),
    },
    "staff": {
        "name": ("姓名", "员工姓名", "员工", "名字", "name", "staff"),
        "role": ("角色", "岗位", "职位", "职务", "role"),
        "manager": ("上级", "直属上级", "经理", "主管", "汇报给", "manager"),
        "team": ("团队", "小组", "部门", "组", "team"),
        "store": ("门店", "store"),
        "phone": ("手机", "电话", "手机号", "phone", "mobile"),
    },
}
REQUIRED = {"customers": ("name",), "members": ("member_no", "name"), "products": ("name",), "staff": ("name", "role")}
LABELS = {
    "name": "名称", "member_no": "会员号", "industry": "行业", "region": "地区", "address": "地址",
    "contact": "联系人", "title": "职务", "aliases": "简称", "tier": "等级", "store": "门店", "sku": "编号",
    "unit": "单位", "points": "积分", "total_spent": "累计消费", "unit_price": "单价", "joined_at": "入会日期",
    "expires_at": "到期日", "birthday": "生日",
}
LIMITS = {
    "name": 100, "industry": 50, "region": 50, "address": 200, "contact": 50, "title": 50, "aliases": 100,
    "tier": 20, "store": 50, "sku": 50, "unit": 10, "member_no": 32,
}
_SPLIT = re.compile(r"[、,，;；/|]+")
_LIFECYCLE_BY_NAME = {v: k for k, v in SM.LIFECYCLE_NAMES.items()}


# --- reading files ------------------------------------------------------------------------------


def _header_key(text: Any) -> str:
    return re.sub(r"[\s_\-*（）()]", "", str(text or "")).lower()


def read_table(path: Path) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """(header cells, [(line number, cells)]) of the first sheet; blank rows are skipped, lines still count."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            rows = _xlsx_rows(path)
        elif suffix == ".csv":
            rows = _csv_rows(path)
        else:
            raise InvalidInput(SM.IMPORT_FILE_TYPE)
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
        raise InvalidInput(SM.IMPORT_FILE_UNREADABLE.format(reason=type(exc).__name__)) from exc
    numbered = [(n, list(r)) for n, r in enumerate(rows, start=1) if any(_cell(c) for c in r)]
    if not numbered:
        raise InvalidInput(SM.IMPORT_NO_HEADER.format(examples="客户名称、联系人、电话"))
    (_, header), *body = numbered
    return [str(h or "").strip() for h in header], body


def _xlsx_rows(path: Path) -> list[tuple[Any, ...]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ValueError(str(exc)) from exc
    try:
        return list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()


def _csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnicodeDecodeError("csv", raw[:1], 0, 1, "neither UTF-8 nor GB18030")
    return list(csv.reader(text.splitlines()))


def _cell(value: Any) -> str:
    """A cell as clean text: 13800138000.0 from Excel becomes 13800138000."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return re.sub(r"\s+", " ", str(value)).strip()


def map_columns(kind: str, header: list[str]) -> dict[str, int]:
    """Field -> column index; InvalidInput naming the required columns that are missing."""
    names = COLUMNS[kind]
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        key = _header_key(cell)
        for fname, options in names.items():
            if fname not in found and key in {_header_key(o) for o in options}:
                found[fname] = index
                break
    missing = [f for f in REQUIRED[kind] if f not in found]
    if missing:
        raise InvalidInput(SM.IMPORT_MISSING_COLUMN.format(columns="、".join(names[f][0] for f in missing)))
    return found


# --- validation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str


@dataclass
class ImportReport:
    kind: str
    total: int = 0
    imported: int = 0
    dry_run: bool = False
    rejected: list[Rejected] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)


class _RowError(Exception):
    pass


def _text(row: dict[str, str], fname: str, *, required: bool = False) -> str | None:
    value = row.get(fname) or ""
    if not value:
        if required:
            raise _RowError(SM.IMPORT_REQUIRED.format(field=LABELS.get(fname, fname)))
        return None
    limit = LIMITS.get(fname)
    if limit is not None and len(value) > limit:
        raise _RowError(SM.IMPORT_TOO_LONG.format(field=LABELS.get(fname, fname), limit=limit))
    return value


def _phone(row: dict[str, str]) -> str | None:
    raw = row.get("phone") or ""
    try:
        return normalize_phone(raw) if raw else None
    except InvalidInput as exc:
        raise _RowError(SM.IMPORT_PHONE_INVALID.format(value=raw[:30])) from exc


def _date(row: dict[str, str], fname: str) -> date | None:
    raw = row.get(fname) or ""
    if not raw:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise _RowError(SM.IMPORT_DATE_INVALID.format(field=LABELS[fname], value=raw[:30]))


def _number(row: dict[str, str], fname: str) -> Decimal | None:
    raw = (row.get(fname) or "").replace(",", "").removesuffix("元")
    if not raw:
        return None
    try:
        return to_decimal(raw)
    except InvalidInput as exc:
        raise _RowError(SM.IMPORT_NUMBER_INVALID.format(field=LABELS[fname], value=raw[:30])) from exc


def _aliases(row: dict[str, str]) -> list[str]:
    value = _text(row, "aliases") or ""
    return [a.strip() for a in _SPLIT.split(value) if a.strip()]


class _Seen:
    """Keys already in the database (line 0) or earlier in the file (their line)."""

    def __init__(self, existing: dict[str, str]) -> None:
        self.existing = existing
        self.in_file: dict[str, int] = {}

    def check(self, keys: Iterable[str]) -> None:
        for key in keys:
            if key in self.existing:
                raise _RowError(SM.IMPORT_DUP_EXISTING.format(name=self.existing[key]))
            if key in self.in_file:
                raise _RowError(SM.IMPORT_DUP_FILE.format(line=self.in_file[key]))

    def add(self, keys: Iterable[str], line: int) -> None:
        for key in keys:
            self.in_file.setdefault(key, line)


class _Problems:
    """Every problem of one row, so the report names them all at once instead of one per attempt."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def take(self, check: Callable[[], Any]) -> Any:
        try:
            return check()
        except _RowError as error:
            self.reasons.append(str(error))
            return None

    def raise_if_any(self) -> None:
        if self.reasons:
            raise _RowError("；".join(self.reasons))


def _choices(names: Iterable[str], shown: int = 12) -> str:
    names = list(names)
    return "、".join(names[:shown]) + ("…" if len(names) > shown else "")


def _customer_validator(session: Session, actor: Actor) -> Callable[[dict[str, str], int], dict[str, Any]]:
    existing = {name_key(n): n for n in session.scalars(select(Customer.name))}
    for alias, owner in session.execute(select(CustomerAlias.alias, Customer.name).join(Customer)):
        existing.setdefault(name_key(alias), owner)
    seen = _Seen(existing)
    staff = {s.name: s for s in session.scalars(select(Staff).order_by(Staff.id))}
    owners = [s.name for s in staff.values() if s.role in CUSTOMER_ROLES and s.active]

    def lifecycle_of(raw: str) -> str:
        lifecycle = _LIFECYCLE_BY_NAME.get(raw, raw.lower())
        if lifecycle not in LIFECYCLE:
            raise _RowError(SM.IMPORT_LIFECYCLE_UNKNOWN.format(
                value=raw[:20], choices=_choices(SM.LIFECYCLE_NAMES[k] for k in LIFECYCLE)))
        return lifecycle

    def owner_of(name: str) -> int | None:
        if not name:
            return actor.staff_id
        owner = staff.get(name)
        if owner is None:
            raise _RowError(SM.IMPORT_OWNER_UNKNOWN.format(name=name[:20], choices=_choices(owners)))
        if owner.role not in CUSTOMER_ROLES or not owner.active:
            raise _RowError(SM.IMPORT_OWNER_ROLE.format(name=name, choices=_choices(owners)))
        return owner.id

    def validate(row: dict[str, str], line: int) -> dict[str, Any]:
        problems = _Problems()
        name = problems.take(lambda: _text(row, "name", required=True))
        aliases = problems.take(lambda: _aliases(row)) or []
        keys: list[str] = []
        if name is not None:
            aliases = [a for a in aliases if name_key(a) != name_key(name)]
            keys = list(dict.fromkeys(name_key(n) for n in [name, *aliases]))
            problems.take(lambda: seen.check(keys))
        values = {
            "name": name, "aliases": aliases, "industry": problems.take(lambda: _text(row, "industry")),
            "region": problems.take(lambda: _text(row, "region")),
            "address": problems.take(lambda: _text(row, "address")),
            "lifecycle": problems.take(lambda: lifecycle_of(row.get("lifecycle") or "target")),
            "owner_id": problems.take(lambda: owner_of(row.get("owner") or "")),
            "contact": problems.take(lambda: _text(row, "contact")),
            "title": problems.take(lambda: _text(row, "title")), "phone": problems.take(lambda: _phone(row)),
        }
        problems.raise_if_any()
        seen.add(keys, line)
        return values

    return validate


def _member_validator(session: Session, actor: Actor) -> Callable[[dict[str, str], int], dict[str, Any]]:
    seen = _Seen({no: no for no in session.scalars(select(Member.member_no))})

    def member_no(row: dict[str, str]) -> str:
        raw_no = _text(row, "member_no", required=True)
        number = normalize_member_no(raw_no)
        if number is None:
            raise _RowError(SM.IMPORT_MEMBER_NO_INVALID.format(value=(raw_no or "")[:30]))
        seen.check([number])
        return number

    def points(row: dict[str, str]) -> int:
        value = _number(row, "points")
        if value is not None and value != value.to_integral_value():
            raise _RowError(SM.IMPORT_NUMBER_INVALID.format(field=LABELS["points"], value=row.get("points")))
        return int(value or 0)

    def validate(row: dict[str, str], line: int) -> dict[str, Any]:
        problems = _Problems()
        values = {
            "member_no": problems.take(lambda: member_no(row)),
            "name": problems.take(lambda: _text(row, "name", required=True)),
            "phone": problems.take(lambda: _phone(row)),
            "tier": problems.take(lambda: _text(row, "tier")) or "普通", "points": problems.take(lambda: points(row)),
            "total_spent": problems.take(lambda: _number(row, "total_spent")) or Decimal(0),
            "joined_at": problems.take(lambda: _date(row, "joined_at")),
            "expires_at": problems.take(lambda: _date(row, "expires_at")),
            "birthday": problems.take(lambda: _date(row, "birthday")),
            "store": problems.take(lambda: _text(row, "store")),
        }
        problems.raise_if_any()
        seen.add([values["member_no"]], line)
        return values

    return validate


def _product_validator(session: Session, actor: Actor) -> Callable[[dict[str, str], int], dict[str, Any]]:
    seen = _Seen({name_key(n): n for n in session.scalars(select(Product.name))})

    def validate(row: dict[str, str], line: int) -> dict[str, Any]:
        problems = _Problems()
        name = problems.take(lambda: _text(row, "name", required=True))
        if name is not None:
            problems.take(lambda: seen.check([name_key(name)]))
        values = {
            "name": name, "sku": problems.take(lambda: _text(row, "sku")),
            "unit": problems.take(lambda: _text(row, "unit")) or "个",
            "unit_price": problems.take(lambda: _number(row, "unit_price")),
            "aliases": problems.take(lambda: _aliases(row)) or [],
        }
        problems.raise_if_any()
        seen.add([name_key(name)], line)
        return values

    return validate


def _staff_validator(session: Session, actor: Actor | None) -> Callable[[dict[str, str], int], dict[str, Any]]:
    checker = StaffChecker(session)  # knows the database and the file's earlier rows (a manager listed first)

    def validate(row: dict[str, str], line: int) -> dict[str, Any]:
        try:
            person = checker.check(row.get("name") or "", row.get("role") or "", manager=row.get("manager"),
                                   team=row.get("team"), store=row.get("store"), phone=row.get("phone"))
        except InvalidInput as error:
            raise _RowError(error.message) from error
        return {"person": person}

    return validate


VALIDATORS = {"customers": _customer_validator, "members": _member_validator, "products": _product_validator,
              "staff": _staff_validator}


# --- inserting ----------------------------------------------------------------------------------


def _audit_rows(actor: Actor, action: str, entity: str, items: list[tuple[int, dict[str, Any]]],
                now: datetime) -> list[AuditLog]:
    return [
        AuditLog(
            at=now, actor_staff_id=actor.staff_id, actor_member_id=actor.member_id, action=action,
            entity_type=entity, entity_id=entity_id, after=jsonable(after), via_channel=actor.via_channel,
            via_message=actor.via_message,
        )
        for entity_id, after in items
    ]


def _insert_customers(session: Session, actor: Actor, rows: list[dict[str, Any]], now: datetime) -> list[int]:
    # Bulk INSERT … RETURNING (in parameter order) instead of the unit of work: 10 000 rows in seconds.
    ids = list(session.scalars(
        insert(Customer).returning(Customer.id, sort_by_parameter_order=True),
        [{"name": v["name"], "industry": v["industry"], "region": v["region"], "address": v["address"],
          "lifecycle": v["lifecycle"], "owner_id": v["owner_id"], "created_at": now, "updated_at": now} for v in rows],
    ))
    aliases = [{"customer_id": cid, "alias": a} for cid, v in zip(ids, rows, strict=True) for a in v["aliases"]]
    if aliases:
        session.execute(insert(CustomerAlias), aliases)
    contacts = [
        {"customer_id": cid, "name": v["contact"] or SM.DEFAULT_CONTACT_NAME, "title": v["title"], "phone": v["phone"],
         "created_at": now}
        for cid, v in zip(ids, rows, strict=True) if v["contact"] or v["phone"]
    ]
    if contacts:
        session.execute(insert(Contact), contacts)
    entity_changed(session, "customer")  # bulk inserts bypass the ORM's names feed
    if contacts:
        entity_changed(session, "contact")
    session.add_all(_audit_rows(actor, "customer.import", "customer", [
        (cid, {"name": v["name"], "owner_id": v["owner_id"], "lifecycle": v["lifecycle"]})
        for cid, v in zip(ids, rows, strict=True)
    ], now))
    session.flush()
    return ids


def _insert_members(session: Session, actor: Actor, rows: list[dict[str, Any]], now: datetime) -> list[int]:
    today = now.date()
    members = [
        Member(
            member_no=v["member_no"], name=v["name"], phone=v["phone"], tier=v["tier"], points=v["points"],
            total_spent=v["total_spent"], joined_at=v["joined_at"] or today, expires_at=v["expires_at"],
            birthday=v["birthday"], store=v["store"], opted_out=False, created_at=now,
        )
        for v in rows
    ]
    session.add_all(members)
    session.flush()
    # The balance is the sum of the ledger: imported points get an opening 'adjust' row.
    session.add_all(
        PointsLedger(member_id=m.id, delta=m.points, reason="adjust", created_at=now) for m in members if m.points
    )
    session.add_all(_audit_rows(actor, "member.import", "member", [
        (m.id, {"member_no": m.member_no, "points": m.points}) for m in members
    ], now))
    session.flush()
    return [m.id for m in members]


def _insert_products(session: Session, actor: Actor, rows: list[dict[str, Any]], now: datetime) -> list[int]:
    products = [
        Product(name=v["name"], sku=v["sku"], unit=v["unit"], unit_price=v["unit_price"], aliases=v["aliases"],
                active=True)
        for v in rows
    ]
    session.add_all(products)
    session.flush()
    session.add_all(_audit_rows(actor, "product.import", "product", [
        (p.id, {"name": p.name, "unit_price": p.unit_price}) for p in products
    ], now))
    session.flush()
    return [p.id for p in products]


def _insert_staff(session: Session, actor: Actor | None, rows: list[dict[str, Any]], now: datetime) -> list[int]:
    return [s.id for s in create_staff(session, actor, [r["person"] for r in rows], now=now)]


INSERTERS = {"customers": _insert_customers, "members": _insert_members, "products": _insert_products,
             "staff": _insert_staff}
BATCH = 1000


def require_admin(actor: Actor | None) -> None:
    if actor is None or actor.staff_id is None or actor.role != "admin":
        raise PermissionDenied(SM.IMPORT_ADMIN_ONLY)


def import_file(
    session: Session, actor: Actor | None, kind: str, path: Path, *, now: datetime, dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate every row, then (unless dry_run) insert the good ones. Flushes only; caller commits.

    actor None (staff only): the server's operator setting up a company that has no admin yet."""
    require_aware(now)
    if actor is not None or kind != "staff":
        require_admin(actor)
    if kind not in IMPORT_KINDS:
        raise InvalidInput(SM.IMPORT_KIND_UNKNOWN.format(kind=kind))
    header, body = read_table(Path(path))
    columns = map_columns(kind, header)
    validate = VALIDATORS[kind](session, actor)
    report = ImportReport(kind=kind, total=len(body), dry_run=dry_run)
    good: list[dict[str, Any]] = []
    for done, (line, cells) in enumerate(body, start=1):
        row = {f: _cell(cells[i]) if i < len(cells) else "" for f, i in columns.items()}
        try:
            good.append(validate(row, line))
        except _RowError as error:
            report.rejected.append(Rejected(line, str(error)))
        if progress is not None and (done % 200 == 0 or done == len(body)):
            progress(done, len(body) * (1 if dry_run else 2))
    if dry_run:
        report.imported = len(good)
        return report
    insert = INSERTERS[kind]
    for start in range(0, len(good), BATCH):
        report.ids.extend(insert(session, actor, good[start:start + BATCH], now))
        if progress is not None:
            progress(len(body) + min(start + BATCH, len(good)) * len(body) // max(len(good), 1), len(body) * 2)
    report.imported = len(report.ids)
    return report


# --- export -------------------------------------------------------------------------------------

HEADERS = {
    "customers": ["客户名称", "简称", "行业", "地区", "地址", "阶段", "负责人", "联系人", "职务", "电话", "最近联系", "创建时间"],
    "visits": ["拜访时间", "客户", "联系人", "销售", "拜访内容", "下一步", "跟进时间"],
    "orders": ["订单号", "客户", "提交人", "状态", "金额", "折扣", "提交时间", "审批时间", "产品明细"],
    "members": ["会员号", "姓名", "手机", "等级", "积分", "累计消费", "入会日期", "到期日", "生日", "门店", "已退订"],
}
EXPORT_ROLES = ("manager", "director", "admin")
MEMBER_EXPORT_ROLES = ("director", "admin")


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    """Local wall time without a zone: Excel cells have no time zone, and people read local time."""
    return value.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0) if value else None


def _staff_scope(session: Session, actor: Actor, column: Any) -> ColumnElement[bool]:
    from crm_store.services.reports import scope_ids

    ids = scope_ids(session, actor)
    return true() if ids is None else column.in_(sorted(ids))


def export_rows(
    session: Session, actor: Actor, kind: str, *, since: datetime | None = None, until: datetime | None = None,
    tz: ZoneInfo = DEFAULT_TZ,
) -> Iterator[list[Any]]:
    """Rows (without the header) the actor may export: a manager gets the team's, director/admin all."""
    if kind not in EXPORT_KINDS:
        raise InvalidInput(SM.EXPORT_KIND_UNKNOWN.format(kind=kind))
    if actor.staff_id is None or actor.role not in EXPORT_ROLES:
        raise PermissionDenied(SM.EXPORT_NO_PERMISSION)
    if kind == "members" and actor.role not in MEMBER_EXPORT_ROLES:
        raise PermissionDenied(SM.EXPORT_MEMBERS_NO_PERMISSION)
    require_aware(since)
    require_aware(until)
    if kind == "customers":
        return _export_customers(session, actor, since, until, tz)
    if kind == "visits":
        return _export_visits(session, actor, since, until, tz)
    if kind == "orders":
        return _export_orders(session, actor, since, until, tz)
    return _export_members(session, since, until)


def _window(column: Any, since: Any, until: Any) -> list[ColumnElement[bool]]:
    conditions = []
    if since is not None:
        conditions.append(column >= since)
    if until is not None:
        conditions.append(column < until)
    return conditions


def _export_customers(session: Session, actor: Actor, since: Any, until: Any, tz: ZoneInfo) -> Iterator[list[Any]]:
    stmt = (
        select(Customer)
        .where(visible_customers_clause(actor), *_window(Customer.created_at, since, until))
        .options(selectinload(Customer.aliases), selectinload(Customer.contacts), selectinload(Customer.owner))
        .order_by(Customer.id)
    )
    for c in session.scalars(stmt):
        contact = min(c.contacts, key=lambda x: x.id) if c.contacts else None
        yield [
            c.name, "、".join(a.alias for a in c.aliases), c.industry or "", c.region or "", c.address or "",
            SM.LIFECYCLE_NAMES.get(c.lifecycle, c.lifecycle), c.owner.name, contact.name if contact else "",
            (contact.title or "") if contact else "", (contact.phone or "") if contact else "",
            _local(c.last_contact_at, tz), _local(c.created_at, tz),
        ]


def _export_visits(session: Session, actor: Actor, since: Any, until: Any, tz: ZoneInfo) -> Iterator[list[Any]]:
    stmt = (
        select(Visit, Customer.name, Contact.name, Staff.name)
        .join(Customer, Customer.id == Visit.customer_id)
        .join(Staff, Staff.id == Visit.staff_id)
        .outerjoin(Contact, Contact.id == Visit.contact_id)
        .where(_staff_scope(session, actor, Visit.staff_id), *_window(Visit.visited_at, since, until))
        .order_by(Visit.visited_at, Visit.id)
    )
    for visit, customer, contact, staff in session.execute(stmt):
        yield [_local(visit.visited_at, tz), customer, contact or "", staff, visit.summary, visit.next_step or "",
               _local(visit.next_followup_at, tz)]


def _export_orders(session: Session, actor: Actor, since: Any, until: Any, tz: ZoneInfo) -> Iterator[list[Any]]:
    stmt = (
        select(Order, Customer.name, Staff.name)
        .join(Customer, Customer.id == Order.customer_id)
        .join(Staff, Staff.id == Order.submitter_id)
        .where(_staff_scope(session, actor, Order.submitter_id), *_window(Order.created_at, since, until))
        .options(selectinload(Order.lines))
        .order_by(Order.created_at, Order.id)
    )
    for order, customer, submitter in session.execute(stmt):
        lines = "；".join(f"{line.product_name}×{line.quantity}" for line in order.lines)
        yield [order.number, customer, submitter, SM.ORDER_STATUS_NAMES.get(order.status, order.status),
               Decimal(order.total), order.discount if order.discount is not None else None,
               _local(order.submitted_at, tz), _local(order.decided_at, tz), lines]


def _export_members(session: Session, since: Any, until: Any) -> Iterator[list[Any]]:
    since_day = since.date() if isinstance(since, datetime) else since
    until_day = until.date() if isinstance(until, datetime) else until
    stmt = select(Member).where(*_window(Member.joined_at, since_day, until_day)).order_by(Member.id)
    for m in session.scalars(stmt):
        yield [m.member_no, m.name, m.phone or "", m.tier, m.points, Decimal(m.total_spent),
               m.joined_at, m.expires_at, m.birthday, m.store or "", "是" if m.opted_out else ""]


DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MONEY_FORMAT = "#,##0.00"
WIDTH_SAMPLE = 500  # rows looked at to size the columns (the sheet is written as a stream)
MAX_WIDTH = 60


def _text_value(value: Any) -> str:
    """A cell as CSV text (and for measuring widths): dates as 2026-11-27, times as 2026-11-27 10:00."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _display_width(value: Any) -> int:
    """Characters as Excel shows them: a Chinese character is about two Latin ones wide."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in _text_value(value))


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT
    elif isinstance(value, Decimal):
        cell.number_format = MONEY_FORMAT
    return cell


def write_table(path: Path, header: list[str], rows: Iterable[list[Any]], fmt: str) -> int:
    """Write header + rows as xlsx or UTF-8 CSV with BOM (opens in Excel); the row count.

    xlsx: real Excel dates, times and amounts (sortable and summable), a bold frozen header, columns sized
    to their contents; written as a stream (write-only workbook), so size is bounded by the data."""
    if fmt not in FORMATS:
        raise InvalidInput(SM.EXPORT_FORMAT_UNKNOWN)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    count = 0
    if fmt == "csv":
        with tmp.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow([_text_value(v) for v in row])
                count += 1
    else:
        from openpyxl import Workbook
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        iterator = iter(rows)
        sample = list(itertools.islice(iterator, WIDTH_SAMPLE))
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        for index, title in enumerate(header):
            widest = max([_display_width(title), *(_display_width(r[index]) for r in sample if index < len(r))])
            sheet.column_dimensions[get_column_letter(index + 1)].width = min(widest + 2, MAX_WIDTH)
        sheet.freeze_panes = "A2"
        titles = []
        for title in header:
            cell = _xlsx_cell(sheet, title)
            cell.font = Font(bold=True)
            titles.append(cell)
        sheet.append(titles)
        for row in itertools.chain(sample, iterator):
            sheet.append([_xlsx_cell(sheet, v) for v in row])
            count += 1
        workbook.save(tmp)
    tmp.replace(path)
    return count


def _reporting(rows: Iterator[list[Any]], progress: Progress) -> Iterator[list[Any]]:
    done = 0
    for done, row in enumerate(rows, start=1):
        if done % 200 == 0:
            progress(done, None)
        yield row
    progress(done, None)


def export_data(
    session: Session, actor: Actor, kind: str, path: Path, *, fmt: str = "xlsx", since: datetime | None = None,
    until: datetime | None = None, now: datetime, tz: ZoneInfo = DEFAULT_TZ, progress: Progress | None = None,
) -> int:
    """Write the export file and an audit row (data leaving the system is recorded); the row count.
    `progress(rows written, None)` is called as rows go out (the total is not known up front)."""
    require_aware(now)
    if fmt not in FORMATS:
        raise InvalidInput(SM.EXPORT_FORMAT_UNKNOWN)
    rows = export_rows(session, actor, kind, since=since, until=until, tz=tz)
    if progress is not None:
        rows = _reporting(rows, progress)
    count = write_table(Path(path), HEADERS[kind], rows, fmt)
    session.add(AuditLog(
        at=now, actor_staff_id=actor.staff_id, action=f"export.{kind}", entity_type="export", entity_id=None,
        after=jsonable({"path": str(path), "rows": count, "since": since, "until": until, "format": fmt}),
        via_channel=actor.via_channel, via_message=actor.via_message,
    ))
    session.flush()
    return count


def since_from_date(value: date | None, tz: ZoneInfo = DEFAULT_TZ) -> datetime | None:
    return None if value is None else datetime.combine(value, time(0), tzinfo=tz)


__all__ = [
    "ImportReport", "Rejected", "export_data", "export_rows", "import_file", "map_columns", "read_table",
    "since_from_date", "write_table",
]
