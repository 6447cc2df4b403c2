"""Deterministic demo data: a believable small company selling security and IT equipment in 华东."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_store import messages as SM
from crm_store.errors import InvalidInput
from crm_store.models import (
    STAGE_PROBABILITY,
    ApprovalStep,
    AuditLog,
    Contact,
    Customer,
    CustomerAlias,
    CustomerShare,
    Member,
    Opportunity,
    OpportunityStageChange,
    Order,
    OrderLine,
    OrderSequence,
    PointsLedger,
    Product,
    Purchase,
    Reminder,
    Staff,
    Visit,
)

TZ = ZoneInfo("Asia/Shanghai")

# name, unit, unit price, aliases
PRODUCTS = [
    ("门禁系统", "套", "28000", ["门禁"]),
    ("服务器", "台", "45000", []),
    ("显示器", "台", "1299", []),
    ("监控摄像头", "个", "680", ["摄像头", "监控"]),
    ("智能门锁", "把", "2580", ["门锁"]),
    ("办公软件年费", "年", "9800", ["办公软件"]),
    ("网络交换机", "台", "3600", ["交换机"]),
    ("考勤机", "台", "1580", []),
]

# name, aliases, industry, region
CUSTOMERS = [
    ("华为技术有限公司", ["华为"], "通信", "深圳"),
    ("万科物业", ["万科"], "物业", "上海"),
    ("长城汽车股份有限公司", ["长城汽车"], "汽车", "保定"),
    ("华润置地", [], "地产", "上海"),
    ("华润万家", [], "零售", "上海"),
    ("华润医药", [], "医药", "北京"),
    ("比亚迪", [], "汽车", "深圳"),
    ("美的集团", ["美的"], "家电", "佛山"),
    ("海底捞", [], "餐饮", "上海"),
    ("上海浦东发展银行", ["浦发银行"], "金融", "上海"),
    ("绿地控股集团", ["绿地"], "地产", "上海"),
    ("苏宁易购", [], "零售", "南京"),
    ("徐工集团", ["徐工"], "机械", "徐州"),
    ("恒瑞医药", [], "医药", "连云港"),
    ("上海联影医疗科技股份有限公司", ["联影医疗"], "医疗器械", "上海"),
    ("南京银行", [], "金融", "南京"),
    ("杭州海康威视数字技术股份有限公司", ["海康威视"], "安防", "杭州"),
    ("宁波舟山港", [], "物流", "宁波"),
    ("三只松鼠", [], "食品", "芜湖"),
    ("苏州金螳螂建筑装饰", ["金螳螂"], "装饰", "苏州"),
    ("上海家化", [], "日化", "上海"),
    ("老凤祥", [], "珠宝", "上海"),
    ("光明乳业", [], "食品", "上海"),
    ("锦江酒店", [], "酒店", "上海"),
    ("东方明珠", [], "文旅", "上海"),
    ("上海市第一人民医院", ["市一医院"], "医疗", "上海"),
    ("复旦大学附属中学", ["复旦附中"], "教育", "上海"),
    ("无锡小天鹅", [], "家电", "无锡"),
    ("天合光能", [], "新能源", "常州"),
    ("南通中远海运船务", [], "船舶", "南通"),
    ("嘉兴禾润物流", [], "物流", "嘉兴"),
    ("昆山世硕电子", [], "电子", "昆山"),
    ("张江科技园物业", [], "物业", "上海"),
    ("上海申通地铁", ["申通地铁"], "交通", "上海"),
    ("上海静安香格里拉大酒店", ["静安香格里拉"], "酒店", "上海"),
    ("仁济医院", [], "医疗", "上海"),
    ("浙江吉利控股集团", ["吉利"], "汽车", "杭州"),
    ("绍兴柯桥纺织城", [], "纺织", "绍兴"),
    ("上海迪士尼度假区", ["迪士尼"], "文旅", "上海"),
    ("盒马鲜生", ["盒马"], "零售", "上海"),
    ("瑞幸咖啡", ["瑞幸"], "餐饮", "厦门"),
    ("喜茶", [], "餐饮", "深圳"),
    ("永辉超市", [], "零售", "福州"),
    ("蔚来汽车", ["蔚来"], "汽车", "上海"),
    ("江苏恒力化纤", ["恒力"], "化工", "苏州"),
    ("闵行区图书馆", [], "公共服务", "上海"),
    ("奉贤区实验小学", [], "教育", "上海"),
    ("蓝海印务", [], "印刷", "上海"),
    ("安居房产中介", [], "房产中介", "上海"),
    ("老王五金店", [], "零售", "上海"),
    ("阿芳美甲工作室", [], "生活服务", "上海"),
    ("马记兰州拉面", [], "餐饮", "上海"),
    ("鑫鑫便利店", [], "零售", "上海"),
    ("小杨生煎", [], "餐饮", "上海"),
    ("好邻居烘焙坊", [], "餐饮", "上海"),
    ("红星眼镜店", [], "零售", "上海"),
    ("宏达汽修厂", [], "汽车服务", "上海"),
    ("康乐口腔诊所", [], "医疗", "上海"),
    ("启明星幼儿园", [], "教育", "上海"),
    ("顺达货运", [], "物流", "苏州"),
]

# Lifecycle per customer (same order as CUSTOMERS): 华为 is a customer, 万科 an opportunity...
LIFECYCLE_PLAN = (
    ["customer", "opportunity", "opportunity", "customer", "prospect", "opportunity"]
    + ["opportunity", "customer", "prospect", "customer", "dormant", "target"]
    + ["opportunity", "prospect", "opportunity", "customer", "lost", "prospect"]
    + ["target", "opportunity", "prospect", "dormant", "customer", "opportunity"]
    + ["prospect", "target", "opportunity", "lost", "prospect", "dormant"]
    + ["opportunity", "customer", "prospect", "opportunity", "customer", "target"]
    + ["opportunity", "dormant", "prospect", "customer", "opportunity", "prospect"]
    + ["lost", "opportunity", "target", "prospect", "customer", "dormant"]
    + ["prospect", "target", "prospect", "opportunity", "customer", "lost"]
    + ["target", "prospect", "dormant", "opportunity", "prospect", "target"]
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁沈任姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾毛郝龚邵万钱严覃武"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玲燕红鹏辉建国丹萍宇浩凯婷雪琳晨欣怡子涵梓轩宁波斌海亮"
TITLES = ["总经理", "采购经理", "行政主管", "IT经理", "财务总监", "店长", "老板", "工程师", "副总", "信息部主任"]

VISIT_TEMPLATES = [
    "和{c}聊了{p}的需求，对方预算大概{b}万，下周给报价",
    "送了{p}样品过去，{c}说要内部讨论一下",
    "{c}出差了，跟采购小刘聊了下，{p}今年可能要换",
    "现场看了机房，大概需要{n}台{p}，回去做方案",
    "请{c}吃饭，关系不错，说年底前能定",
    "竞争对手报价比我们低10%，{c}有点犹豫，要再申请个折扣",
    "给{c}演示了{p}，技术部挺满意",
    "催了一下合同进度，法务还在审",
    "电话回访，{c}说暂时不需要，明年再说",
    "{c}反馈上次装的{p}有两台有问题，已经安排售后",
    "跟{c}确认了交货时间，月底前要到货",
    "拜访{c}，介绍了公司和{p}，留了资料",
    "{c}问能不能分期付款，回去问一下财务",
    "和{c}一起去了新办公室，{p}要装{n}套",
]

NEXT_STEPS = ["发报价单", "安排技术交流", "送样品", "约老板见面", "跟进合同", "回访使用情况", "确认预算"]

MEMBER_GIVEN = "晓小子思雨欣佳嘉文浩宇俊杰梓涵一诺美玲秀英丽华建军志强海燕春梅冬梅秋菊"

REMINDER_TEXTS = [
    "给{cust}发报价单",
    "打电话问{cust}合同进度",
    "提醒{cust}续费办公软件",
    "约{cust}{c}下周见面",
]


@dataclass
class DemoSummary:
    counts: dict[str, int] = field(default_factory=dict)
    staff: dict[str, int] = field(default_factory=dict)


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ).astimezone(UTC)


def _phone(rng: random.Random) -> str:
    return rng.choice(["13", "15", "17", "18", "19"]) + "".join(str(rng.randint(0, 9)) for _ in range(9))


def _person(rng: random.Random, taken: set[str]) -> str:
    for _ in range(100):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 1, 2])))
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError("out of names")


def seed_demo(session: Session, *, now: datetime, seed: int = 20261127) -> DemoSummary:
    """Fill an empty database with demo data; refuses (InvalidInput) if staff already exist."""
    if now.tzinfo is None:
        raise InvalidInput(SM.NAIVE_DATETIME)
    if session.scalar(select(func.count()).select_from(Staff)):
        raise InvalidInput(SM.DEMO_ALREADY_SEEDED)
    rng = random.Random(seed)
    now = now.astimezone(UTC)
    today = now.astimezone(TZ).date()

    # --- staff ---
    def add_staff(name: str, role: str, **kw: object) -> Staff:
        staff = Staff(name=name, role=role, active=True, created_at=now - timedelta(days=400), **kw)
        session.add(staff)
        session.flush()
        return staff

    director = add_staff("赵建国", "director", phone="13901010001")
    manager = add_staff("陈静", "manager", team="华东一组", manager_id=director.id, phone="13901010002")
    reps = [
        add_staff(name, "rep", team="华东一组", manager_id=manager.id, phone=f"1390101001{i}")
        for i, name in enumerate(["张伟", "李娜", "王强"])
    ]
    clerk = add_staff("周芳", "clerk", store="南京西路店", phone="13901010020")
    admin = add_staff("管理员", "admin")
    zhang = reps[0]

    # --- products ---
    products: list[Product] = []
    for i, (name, unit, price, aliases) in enumerate(PRODUCTS, start=1):
        product = Product(name=name, sku=f"P{i:04d}", unit=unit, unit_price=Decimal(price), aliases=aliases, active=True)
        session.add(product)
        products.append(product)
    session.flush()

    # --- customers, contacts ---
    people: set[str] = {"赵建国", "陈静", "张伟", "李娜", "王强", "周芳"}
    customers: list[tuple[Customer, list[Contact]]] = []
    for i, (name, aliases, industry, region) in enumerate(CUSTOMERS):
        owner = reps[i % 3] if i < 3 else rng.choice(reps)
        lifecycle = LIFECYCLE_PLAN[i]
        created = now - timedelta(days=rng.randint(95, 400), hours=rng.randint(0, 9))
        if lifecycle == "target" and i % 2 == 0:
            created = now - timedelta(days=rng.randint(3, 20))
        customer = Customer(
            name=name,
            industry=industry,
            region=region,
            address=f"{region}市{rng.choice(['人民路', '中山路', '解放路', '建设路', '科技大道'])}{rng.randint(1, 999)}号",
            lifecycle=lifecycle,
            owner_id=owner.id,
            created_at=created,
            updated_at=created,
        )
        customer.aliases = [CustomerAlias(alias=a) for a in aliases]
        session.add(customer)
        contacts = []
        for j in range(rng.randint(1, 3)):
            contact = Contact(
                customer=customer,
                name=_person(rng, people),
                title=TITLES[(i + j * 3) % len(TITLES)] if j else rng.choice(TITLES[:3]),
                phone=_phone(rng) if rng.random() < 0.8 else None,
                created_at=created,
            )
            session.add(contact)
            contacts.append(contact)
        customers.append((customer, contacts))
    session.flush()

    # 华为 is shared with 李娜 (a big account worked by two reps), 美的 with 王强.
    session.add(CustomerShare(customer_id=customers[0][0].id, staff_id=reps[1].id))
    session.add(CustomerShare(customer_id=customers[7][0].id, staff_id=reps[2].id))

    # --- visits ---
    reminders: list[Reminder] = []
    visit_reminders: list[tuple[Visit, int]] = []
    for i, (customer, contacts) in enumerate(customers):
        lifecycle = customer.lifecycle
        if lifecycle == "target":
            continue
        if lifecycle in ("dormant", "lost"):
            days = sorted(rng.sample(range(35, 90), rng.randint(1, 3)), reverse=True)
        elif i % 7 == 3:  # some active customers nobody has called for a while
            days = sorted(rng.sample(range(31, 90), rng.randint(1, 3)), reverse=True)
        else:
            days = sorted(rng.sample(range(1, 90), rng.randint(2, 6)), reverse=True)
        last: datetime | None = None
        for k, day_ago in enumerate(days):
            at = _local(today - timedelta(days=day_ago), rng.randint(9, 17), rng.choice([0, 15, 30, 45]))
            contact = rng.choice(contacts)
            product = rng.choice(products)
            summary = rng.choice(VISIT_TEMPLATES).format(
                c=contact.name[0] + ("总" if "总" in (contact.title or "") else "经理"),
                p=product.name,
                b=rng.choice([5, 8, 10, 20, 30, 50, 80]),
                n=rng.randint(2, 40),
            )
            is_last = k == len(days) - 1
            next_step = rng.choice(NEXT_STEPS) if is_last and lifecycle not in ("lost", "dormant") else None
            followup = _local(today + timedelta(days=rng.randint(-4, 10)), 9) if next_step else None
            visit = Visit(
                customer_id=customer.id,
                contact_id=contact.id,
                staff_id=customer.owner_id,
                visited_at=at,
                summary=summary,
                next_step=next_step,
                next_followup_at=followup,
                created_at=at + timedelta(minutes=20),
            )
            session.add(visit)
            last = at
            if followup is not None and followup > at:
                visit_reminders.append((visit, len(reminders)))
                reminders.append(
                    Reminder(
                        staff_id=customer.owner_id,
                        customer_id=customer.id,
                        contact_id=contact.id,
                        due_at=followup,
                        text=SM.REMINDER_FOLLOWUP_TEXT.format(customer=customer.name, contact=contact.name, next_step=next_step),
                        status="pending" if followup > now - timedelta(days=5) else "done",
                        created_at=at + timedelta(minutes=20),
                    )
                )
        customer.last_contact_at = last
        customer.updated_at = last or customer.created_at

    session.flush()
    for visit, index in visit_reminders:
        reminders[index].visit_id = visit.id

    # --- opportunities ---
    open_stages = ["initial", "qualified", "proposal", "negotiation"]
    won: list[tuple[Customer, Opportunity]] = []
    for i, (customer, _contacts) in enumerate(customers):
        lifecycle = customer.lifecycle
        if lifecycle == "opportunity":
            plan = [open_stages[i % 4]] + ([open_stages[(i + 2) % 4]] if i % 5 == 1 else [])
        elif lifecycle == "customer":
            plan = ["won"] + (["proposal"] if i % 4 == 0 else [])
        elif lifecycle == "lost":
            plan = ["lost"]
        elif lifecycle == "prospect" and i % 3 == 0:
            plan = ["lost"]
        else:
            continue
        for stage in plan:
            product = rng.choice(products)
            qty = rng.randint(2, 30) if product.unit_price < 10000 else rng.randint(1, 6)
            amount = (product.unit_price * qty).quantize(Decimal("0.01"))
            started = max(customer.created_at, now - timedelta(days=rng.randint(40, 85)))
            path = (
                open_stages[: open_stages.index(stage) + 1]
                if stage in open_stages
                else open_stages[: rng.randint(2, 4)] + [stage]
            )
            step_days = max(1, int((now - started).days * 0.8 / len(path)))
            opp = Opportunity(
                customer_id=customer.id,
                title=f"{customer.aliases[0].alias if customer.aliases else customer.name}{product.name}项目",
                product_id=product.id,
                amount=amount,
                stage=stage,
                probability=STAGE_PROBABILITY[stage],
                expected_close=today + timedelta(days=rng.randint(10, 90)) if stage in open_stages else None,
                owner_id=customer.owner_id,
                created_at=started,
                updated_at=started,
            )
            session.add(opp)
            previous: str | None = None
            at = started
            for s in path:
                opp.history.append(
                    OpportunityStageChange(
                        from_stage=previous,
                        to_stage=s,
                        amount=amount,
                        probability=STAGE_PROBABILITY[s],
                        changed_by_id=customer.owner_id,
                        changed_at=at,
                    )
                )
                previous = s
                opp.updated_at = at
                at = at + timedelta(days=step_days, hours=rng.randint(0, 6))
            if stage in ("won", "lost"):
                opp.closed_at = opp.updated_at
            if stage == "won":
                won.append((customer, opp))
    session.flush()

    # --- orders (for won deals): approved / pending / rejected, steps consistent with status ---
    sequences: dict[date, int] = {}
    order_plan = ["approved", "approved", "pending", "rejected", "approved", "pending", "approved", "rejected"]
    for n, (customer, opp) in enumerate(won[: len(order_plan)]):
        status = order_plan[n]
        submitted = (opp.closed_at or now) + timedelta(hours=2)
        if status == "pending":
            submitted = now - timedelta(hours=rng.randint(3, 30))
        day = submitted.astimezone(TZ).date()
        sequences[day] = sequences.get(day, 0) + 1
        order = Order(
            number=f"SO{day:%Y%m%d}{sequences[day]:03d}",
            customer_id=customer.id,
            submitter_id=customer.owner_id,
            status=status,
            note=None,
            created_at=submitted - timedelta(minutes=5),
            submitted_at=submitted,
        )
        main = session.get(Product, opp.product_id)
        assert main is not None
        opp_qty = int((opp.amount or main.unit_price) / main.unit_price) if main.unit_price else 1
        line_specs = [(main, max(opp_qty, 1))]
        if n % 2 == 0:
            extra = products[(n + 3) % len(products)]
            if extra.id != main.id:
                line_specs.append((extra, rng.randint(2, 20)))
        total = Decimal(0)
        for product, qty in line_specs:
            line_amount = (product.unit_price * qty).quantize(Decimal("0.01"))
            order.lines.append(
                OrderLine(product_id=product.id, product_name=product.name, quantity=qty,
                          unit_price=product.unit_price, amount=line_amount)
            )
            total += line_amount
        order.total = total
        session.add(order)
        roles = [("manager", manager)] + ([("director", director)] if total > Decimal(100000) else [])
        decided = submitted + timedelta(hours=rng.randint(1, 20))
        for step_no, (role, approver) in enumerate(roles, start=1):
            step = ApprovalStep(step_no=step_no, role=role, approver_id=approver.id)
            if status == "approved":
                step.status, step.decided_by_id, step.decided_at = "approved", approver.id, decided
                step.pending_since = submitted if step_no == 1 else decided
            elif status == "rejected":
                if step_no == 1:
                    step.status, step.decided_by_id, step.decided_at = "rejected", approver.id, decided
                    step.reason = "折扣太低，请重新报价"
                    step.pending_since = submitted
                else:
                    step.status = "skipped"
            else:
                if step_no == 1:
                    step.status, step.pending_since = "pending", submitted
                else:
                    step.status = "waiting"
            order.steps.append(step)
        if status in ("approved", "rejected"):
            order.decided_at = decided
    for day, last in sorted(sequences.items()):
        session.add(OrderSequence(day=day, last=last))
    session.flush()

    # --- reminders: the visits' follow-ups plus a few set by hand, overdue ones for 张伟 ---
    zhang_customers = [(c, cs) for c, cs in customers if c.owner_id == zhang.id]
    for k, days_ago in enumerate([3, 2, 1]):
        customer, contacts = zhang_customers[k % len(zhang_customers)]
        reminders.append(
            Reminder(
                staff_id=zhang.id,
                customer_id=customer.id,
                contact_id=contacts[0].id,
                due_at=_local(today - timedelta(days=days_ago), 10),
                text=REMINDER_TEXTS[k].format(cust=customer.name, c=contacts[0].name),
                status="pending",
                created_at=now - timedelta(days=days_ago + 3),
            )
        )
    for k, rep in enumerate(reps):
        customer, contacts = next((c, cs) for c, cs in customers if c.owner_id == rep.id)
        reminders.append(
            Reminder(
                staff_id=rep.id,
                customer_id=customer.id,
                contact_id=contacts[0].id,
                due_at=_local(today, 15 + k),
                text=REMINDER_TEXTS[3].format(cust=customer.name, c=contacts[0].name),
                status="pending",
                created_at=now - timedelta(days=2),
            )
        )
    session.add_all(reminders)
    session.flush()

    # --- members, purchases, points ---
    tiers = [("普通", Decimal(0), 1.0), ("银卡", Decimal(5000), 1.2), ("金卡", Decimal(20000), 1.5)]
    stores = ["南京西路店", "徐家汇店"]
    member_names: set[str] = set()
    batches: list[tuple[Member, list[tuple[Purchase, list[PointsLedger]]]]] = []
    for n in range(1, 201):
        store = stores[n % 2]
        joined = today - timedelta(days=rng.randint(30, 1000))
        if n <= 6:
            expires = today + timedelta(days=[1, 7, 30, 1, 7, 30][n - 1])
        else:
            expires = today + timedelta(days=rng.randint(2, 365))
        birthday = date(rng.randint(1960, 2005), rng.randint(1, 12), rng.randint(1, 28))
        if n in (7, 8):
            birthday = date(1990 + n, today.month, today.day) if today.day <= 28 else birthday
        member = Member(
            member_no=f"VIP{n:04d}",
            name=_person_member(rng, member_names),
            phone=_phone(rng) if rng.random() < 0.7 else None,
            tier="普通",
            points=0,
            total_spent=Decimal(0),
            joined_at=joined,
            expires_at=expires,
            birthday=birthday,
            store=store,
            opted_out=n % 37 == 0,
            created_at=_local(joined, 11),
        )
        session.add(member)
        bought: list[tuple[Purchase, list[PointsLedger]]] = []
        batches.append((member, bought))
        spent = Decimal(0)
        balance = 0
        earliest = max(joined, today - timedelta(days=365))
        span = max((today - earliest).days, 1)
        buy_days = sorted(rng.sample(range(0, span), min(span, rng.randint(0, 8))))
        for offset in buy_days:
            day = earliest + timedelta(days=offset)
            amount = Decimal(rng.choice([88, 128, 199, 268, 399, 588, 899, 1280, 2680, 5200])) + Decimal(
                rng.randint(0, 99)
            )
            rate = next(r for _name, floor_, r in reversed(tiers) if spent >= floor_)
            earned = math.floor(float(amount) * rate)
            purchase = Purchase(
                clerk_id=clerk.id if store == "南京西路店" else None,
                store=store,
                amount=amount,
                points_earned=earned,
                purchased_at=_local(day, rng.randint(10, 20)),
            )
            rows = [
                PointsLedger(
                    delta=earned, reason="earn", expires_on=date(day.year + 1, 12, 31),
                    created_at=purchase.purchased_at,
                )
            ]
            bought.append((purchase, rows))
            spent += amount
            balance += earned
            if balance > 2000 and rng.random() < 0.3:
                redeem = rng.choice([500, 1000])
                rows.append(
                    PointsLedger(
                        delta=-redeem, reason="redeem", created_at=purchase.purchased_at + timedelta(minutes=1),
                    )
                )
                balance -= redeem
        member.total_spent = spent
        member.points = balance
        member.tier = next(name for name, floor_, _ in reversed(tiers) if spent >= floor_)
    session.flush()
    for member, bought in batches:
        for purchase, _rows in bought:
            purchase.member_id = member.id
            session.add(purchase)
    session.flush()
    for member, bought in batches:
        for purchase, rows in bought:
            for row in rows:
                row.member_id = member.id
                row.purchase_id = purchase.id if row.reason == "earn" else None
                session.add(row)
    session.flush()

    session.add(
        AuditLog(at=now, action="demo.seed", entity_type="database", entity_id=None, after={"seed": seed})
    )
    session.flush()

    def count(model: type) -> int:
        return session.scalar(select(func.count()).select_from(model)) or 0

    staff_all = [director, manager, *reps, clerk, admin]
    return DemoSummary(
        counts={
            "staff": count(Staff),
            "customers": count(Customer),
            "contacts": count(Contact),
            "visits": count(Visit),
            "opportunities": count(Opportunity),
            "orders": count(Order),
            "products": count(Product),
            "members": count(Member),
            "purchases": count(Purchase),
            "points_ledger": count(PointsLedger),
            "reminders": count(Reminder),
        },
        staff={s.name: s.id for s in staff_all},
    )


def _person_member(rng: random.Random, taken: set[str]) -> str:
    for _ in range(200):
        name = rng.choice(SURNAMES) + "".join(rng.choice(MEMBER_GIVEN) for _ in range(rng.choice([1, 2, 2])))
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError("out of names")
