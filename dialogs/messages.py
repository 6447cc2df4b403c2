"""Every sentence the dialogs say, in one place for review. Short, plain, fits a phone screen."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from crm_store import messages as SM

WEEKDAYS = "一二三四五六日"

# Lifecycle and stage names live in the store's message table, so both packages say the same thing.
LIFECYCLE = SM.LIFECYCLE_NAMES
STAGE = SM.STAGE_NAMES
ROLE = {"rep": "销售", "manager": "销售经理", "director": "销售总监", "clerk": "店员", "admin": "管理员", "member": "会员"}

# --- engine ---
UNKNOWN_USER = (
    "您好，我是销售助手。这个账号还没有绑定。\n"
    "员工请发送「绑定 邀请码」（邀请码找管理员要）；\n"
    "会员请发送「绑定 会员号 手机后四位」，例如：绑定 VIP0023 1234"
)
EMPTY_TEXT = "没收到文字内容。请直接打字告诉我要做什么，例如：今天拜访了华为张总"
TOO_LONG = "消息太长了（超过 {limit} 字），请分几条发送。"
INTERNAL_ERROR = "抱歉，刚才出了点问题，这条没有保存。请稍后再试一次。"
NOT_ALLOWED_ROLE = "您的账号（{role}）不能做这件事。发「帮助」看看您能做什么。"
NOT_YET = "「{job}」功能还在开发中，暂时不能在聊天里办理。"
CANCELLED = "好的，已取消。"
NOTHING_ASKED = "好的。有什么需要直接说就行，发「帮助」看例子。"
NOTHING_TO_CANCEL = "好的。现在没有进行中的操作。"
CONFIRM_HINT = "回复「确认」保存，「取消」放弃，或直接说要改的内容。"
CONFIRM_AGAIN = "还没保存。" + CONFIRM_HINT
SAVED_UNDO_HINT = "（{minutes}分钟内可回复「撤销」）"
PICK_PROMPT = "找到{count}个“{query}”，请回复序号：\n{options}"
PICK_INVALID = "请回复 1 到 {count} 之间的序号，或说「取消」。"
CONTACT_WITH_TITLE = "{name}（{title}）"
VISIT_PHONE = "\n电话：{phone}"
CUSTOMER_DID_YOU_MEAN = "您是说 {name} 吗？（回复「是」，或说正确的客户名）"
LOOKUP_NAME_THE_CUSTOMER = "查哪个客户的？请带上客户名再问，例如「华为侯军的电话」。"
LOOKUP_NOT_FOUND = "没找到客户“{name}”。"
CUSTOMER_NOT_FOUND = LOOKUP_NOT_FOUND + "请再说一下客户名称，或说「取消」。"
NO_MORE_PAGES = "没有更多了。"

# --- questions ---
ASK_CUSTOMER = "是哪个客户？"
ASK_VISIT_CUSTOMER = "拜访的是哪个客户？"
ASK_NEW_CUSTOMER_NAME = "新客户叫什么名字？"
ASK_REMINDER_TIME = "什么时候提醒您？例如：明天上午10点"
ASK_REMINDER_TEXT = "提醒您做什么？"
ASK_OPPORTUNITY_CHANGE = "要更新什么？例如：进入商务谈判、金额60万、赢单概率70%、预计下月底签"

# --- jobs ---
JOB_TITLES = {
    "log_visit": "拜访记录",
    "add_customer": "新建客户",
    "query_customer": "查客户",
    "customer_history": "客户跟进记录",
    "update_opportunity": "更新商机",
    "set_reminder": "设提醒",
    "list_followups": "跟进提醒",
    "close_reminder": "处理提醒",
    "submit_order": "下订单",
    "combined": "多项汇报",
    "approve": "审批",
    "reject": "审批",
    "list_approvals": "待审批",
    "transfer_customers": "客户转移",
    "deactivate_staff": "停用员工账号",
    "member_lookup": "查会员",
    "record_purchase": "会员消费",
    "register_member": "办会员卡",
    "renew_member": "会员续卡",
    "query_points": "查积分",
    "unsubscribe": "退订",
    "sales_report": "业绩报表",
}

GREET = "{name}您好！我是销售助手。直接用一句话告诉我要做的事就行，发「帮助」看例子。"
HELP_HEADER = "{name}，您可以直接这样说："
HELP_EXAMPLES = {
    "rep": [
        "今天下午拜访了华为张总，聊了新项目，下周三报价",
        "新建客户 华润置地 联系人高经理 13600001111",
        "华为的电话是多少",
        "华为最近怎么样了",
        "华润医药的项目到商务谈判了 金额60万",
        "给华为下单，服务器10台，单价2万",
        "后天上午10点提醒我给林总发合同",
        "今天该联系谁",
        "撤销（撤回刚才保存的内容）",
    ],
    "manager": [
        "还有什么要我批的",
        "同意 SO20261127001 / 驳回 SO20261127001 价格太低",
        "本周销售周报",
        "把张伟的客户都转给李娜",
        "王强离职了，停用他的账号（先把客户转走）",
        "华为最近怎么样了",
        "今天该联系谁",
    ],
    "clerk": [
        "查会员 王小明 VIP0023（或：查会员 13800138000）",
        "会员VIP0023消费了1288元，积分抵了1000",
        "她还有多少积分（刚查到的会员）",
        "办卡 王小丽 13912345678 金卡 生日1990年3月5日",
        "续卡 VIP0023 一年",
        "撤销（撤回刚才保存的内容）",
    ],
    "member": [
        "我的积分还剩多少",
        "退订（不再接收通知）",
    ],
}
HELP_EXAMPLES["director"] = HELP_EXAMPLES["manager"]
HELP_EXAMPLES["admin"] = HELP_EXAMPLES["manager"]
OUT_OF_SCOPE = "这个我帮不上忙。您可以试试：\n· {first}\n· {second}\n发「帮助」看更多。"

VISIT_SUMMARY = "记录拜访：\n客户：{customer}\n联系人：{contact}\n时间：{when}\n内容：{summary}"
VISIT_NEXT = "\n下一步：{next_step}\n跟进提醒：{followup}"
VISIT_NEW_CUSTOMER = "{name}（新客户，将同时建档）"
VISIT_SAVED = "已记录{customer}的拜访。"
VISIT_IS_A_PLAN = "这次拜访还没发生，先给您设个提醒；见完再记拜访。"
VISIT_IN_FUTURE = "\n注意：拜访时间是{when}，还没到，确定吗？不对请直接说正确时间，例如「上午10点」。"
TODAY = "今天"
VISIT_REMINDER_SET = "{when} 会提醒您跟进。"
VISIT_CONTACT_ADDED = "新联系人「{contact}」已加入{customer}。"
VISIT_LIFECYCLE = "客户阶段：{before} → {after}"

CUSTOMER_SUMMARY = "新建客户：\n名称：{name}{contact}{phone}"
CUSTOMER_CONTACT_LINE = "\n联系人：{contact}"
CUSTOMER_PHONE_LINE = "\n电话：{phone}"
CUSTOMER_SAVED = "客户「{name}」已建档，负责人：{owner}。"
CUSTOMER_DUPLICATE = "已有同名客户「{name}」（负责人：{owner}），没有重复创建。"

CUSTOMER_CARD = "{name}\n负责人：{owner}　阶段：{lifecycle}{industry}\n{contacts}\n最近联系：{last_contact}{opportunities}"
CUSTOMER_NO_CONTACTS = "联系人：暂无"
CUSTOMER_CONTACT = "联系人：{name}{title}{phone}"
CUSTOMER_OPPORTUNITY = "\n商机：{title} {stage} {amount}"
NEVER = "暂无"

HISTORY_HEADER = "{customer} 的跟进记录（{start}-{end}/共{total}条）："
HISTORY_EMPTY = "{customer} 还没有跟进记录。"
HISTORY_MORE = "回复「更多」看后面的记录。"

OPPORTUNITY_SUMMARY = "更新商机：\n客户：{customer}\n项目：{title}{changes}"
OPPORTUNITY_CHANGE = "\n{label}：{before} → {after}"
OPPORTUNITY_NEW = "（新商机）"
PROJECT = "项目"
OPPORTUNITY_SAVED = "已更新{customer}的商机：{stage}，金额{amount}，赢单概率{probability}%。"
OPPORTUNITY_WON = "恭喜拿下{customer}！"
OPPORTUNITY_PICK = "{customer}有{count}个进行中的商机，请回复序号：\n{options}"
LABEL_STAGE = "阶段"
LABEL_AMOUNT = "金额"
LABEL_PROBABILITY = "赢单概率"
LABEL_CLOSE = "预计签约"

REMINDER_SUMMARY = "设提醒：\n时间：{when}\n内容：{text}{customer}"
REMINDER_CUSTOMER = "\n客户：{customer}"
REMINDER_SAVED = "好的，{when} 提醒您：{text}"
REMINDER_IN_PAST = "这个时间（{when}）已经过去了，请说一个以后的时间。"

FOLLOWUPS_UNTOUCHED = "超过{days}天没联系："
UNTOUCHED_LINE = "· {name}（{days}天）"

# --- follow-ups (issue 15) ---
FOLLOWUPS_HEADER = "{day}的跟进："
FOLLOWUPS_RANGE_HEADER = "{words}（{first}至{last}）的跟进："
FOLLOWUPS_ALL_HEADER = "您的待办提醒："
FOLLOWUPS_OVERDUE = "已逾期（{count}）："
TODAY_MARK = "今天 "
FOLLOWUP_LINE = "{number}. {when} {text}"
FOLLOWUPS_NONE_IN_RANGE = "这段时间没有待跟进的提醒。"
FOLLOWUPS_NONE_DUE_IN_RANGE = "（这段时间没有新到期的，以上都是之前逾期未办的。）"
FOLLOWUPS_NONE_AT_ALL = "目前没有待办提醒。"
FOLLOWUPS_NEXT = "之后最近的一条：{reminder}"
FOLLOWUPS_MORE = "……另有{count}条更晚的，可以按时间问，例如「下个月的提醒」。"
FOLLOWUPS_ACT_HINT = "办完了回复「完成 1」，不需要了回复「删除 1」（换成对应序号）。"
REMINDER_LABEL = "{when} {text}"
VISIT_CLOSES_REMINDER = "\n同时完成提醒：{reminder}"
VISIT_REMINDER_CLOSED = "已完成提醒：{reminder}"
REMINDER_CLOSE_SUMMARY = {"done": "标记完成：\n{lines}", "cancelled": "取消提醒：\n{lines}"}
REMINDER_CLOSED = {"done": "已标记完成：\n{lines}", "cancelled": "已取消提醒：\n{lines}"}
REMINDER_CLOSE_LINE = "· {reminder}"
REMINDER_NO_LIST = "请先看一下提醒列表（例如说「我的提醒」），再按序号回复「完成 1」。"
REMINDER_NUMBER_OUT_OF_RANGE = "刚才的列表只有{count}条，请回复 1 到 {count} 之间的序号。"
REMINDER_NOT_MATCHED = "没找到和「{query}」有关的待办提醒。说「我的提醒」可以看全部。"
REMINDER_ALREADY_DONE = "「{text}」已经处理过了。"
REMINDER_WHICH_ANY = "是哪一条提醒？请回复序号：\n{options}"
REMINDER_WHICH = "有{count}条和「{query}」有关的待办提醒，是哪一条？请回复序号（都是的话回复「都」）：\n{options}"
REMINDER_WHICH_INVALID = "请回复 1 到 {count} 之间的序号，或说「取消」。"

UNDO_NOTHING = "没有可以撤销的操作。"


def money(amount: object) -> str:
    """50万 style for large round figures, plain yuan otherwise."""
    return "未定" if amount is None else SM.money(amount)


def day(value: date, today: date | None = None) -> str:
    """12月5日(周六); with the year when it is not `today`'s year (2027年3月31日(周三))."""
    year = f"{value.year}年" if today is not None and value.year != today.year else ""
    return f"{year}{value.month}月{value.day}日(周{WEEKDAYS[value.weekday()]})"


def when(moment: datetime, *, with_time: bool = True, today: date | None = None) -> str:
    text = day(moment.date() if isinstance(moment, datetime) else moment, today)
    if with_time and (moment.hour or moment.minute):
        text += f" {moment:%H:%M}"
    return text

# --- binding (channels, issue 7) ---
BIND_USAGE = (
    "绑定格式：员工发送「绑定 邀请码」，例如：绑定 K7MQ2XPA；\n"
    "会员发送「绑定 会员号 手机后四位」，例如：绑定 VIP0023 1234"
)
BIND_STAFF_OK = "绑定成功！您好，{name}（{role}）。现在可以直接跟我说事了，比如「今天拜访了华为的李总」。"
BIND_MEMBER_OK = "绑定成功！{name}您好，之后积分、到期提醒会发到这里。"
UNBIND_OK = "已解绑。这个账号不再代表您；需要时可重新发送「绑定 …」。"

# --- orders and approvals (issue 5) ---
ASK_ORDER_CUSTOMER = "给哪个客户下单？"
ORDER_DISCOUNT_ON_TOTAL = (
    "{total}是{discount}之后的价格吗？回复「是」按{total}下单；回复「不是」按{total}再打折，合计{after}。"
)
QUANTITY_IS_RANGE = "「{text}」是个大概数，"
AMOUNT_IS_RANGE = "「{text}」不是一个确定的金额，请说一个准确金额，例如：12800元。"
ASK_ORDER_PRODUCT = "订什么产品、多少？例如：服务器10台，单价2万"
ASK_ORDER_QUANTITY = "{product}要多少{unit}？"
ASK_ORDER_PRICE = "{product}单价多少？（也可以说总价，例如：共15万）"
ORDER_PRODUCT_UNKNOWN = "没找到产品“{name}”。可选：{options}"
ORDER_QUANTITY_BAD = "数量要是大于0的整数。"
ORDER_SUMMARY = "下单：\n客户：{customer}\n{lines}\n合计：{total}{discount}\n审批：{route}"
ORDER_LINE = "{n}. {product} {quantity}{unit} × {unit_price} = {amount}{note}"
ORDER_PRICE_LIST = "目录价{price}"
ORDER_PRICE_QUOTED = "报价{price}"
ORDER_PRICE_DISCOUNTED = "{discount}后{price}"
ORDER_PRICE_NOTE = "（{parts}）"
ORDER_DISCOUNT = "（{discount}）"
ORDER_REDUCTION = "（已减{amount}）"
ORDER_REDUCTION_TOO_LARGE = "减{amount}比这张单的金额还多，请再说一下优惠金额。"
ORDER_SUBMITTED = "订单 {number} 已提交，合计{total}，等待{approver}审批。"
ORDER_NOTICE = "【待审批】{submitter}提交了订单 {number}{previous}\n客户：{customer}\n{lines}\n合计：{total}{discount}\n回复「同意 {number}」或「驳回 {number} 原因」"
ORDER_NOTICE_NEXT = "（已通过{previous}审批）"
APPROVE_BUTTON = "批准"
REJECT_BUTTON = "驳回"
APPROVE_REPLY_TEXT = "同意 {number}"
REJECT_REPLY_TEXT = "驳回 {number}"
APPROVAL_PICK_QUERY = "待您审批的订单"
APPROVAL_OPTION_DETAIL = "{customer} {total} {submitter}"
ASK_REJECT_REASON = "请说一下驳回原因"
APPROVE_NOTE = "（审批意见：{note}）"
APPROVED_NEXT = "已同意订单 {number}，已转给{next}审批。"
APPROVED_FINAL = "已批准订单 {number}（{customer}，{total}），已通知{submitter}。"
REJECTED = "已驳回订单 {number}，原因：{reason}。已通知{submitter}。"
NOTICE_APPROVED = "您的订单 {number}（{customer}，{total}）已批准。审批人：{approver}"
NOTICE_PASSED = "您的订单 {number} 已通过{approver}审批，现在等{next}审批。"
NOTICE_REJECTED = "您的订单 {number}（{customer}，{total}）被{approver}驳回，原因：{reason}"
APPROVALS_HEADER = "待您审批（{count}）："
APPROVAL_LINE = "{n}. {number} {customer} {total}（{submitter} {submitted}提交，已等{since}）"
APPROVALS_HINT = "回复「同意 1」或「驳回 2 原因」（序号或单号都行），也可以说「华为那单同意」；只回序号看明细。"
APPROVALS_NONE = "目前没有等您审批的订单。"
MY_ORDERS_HEADER = "您最近的订单："
MY_ORDERS_NONE = "您还没有提交过订单。"
MY_ORDER_LINE = "· {number} {customer} {total} {status}{detail}"
MY_ORDER_WAITING = "（等{approver}审批）"
MY_ORDER_REJECTED = "（{approver}：{reason}）"


_CN_DIGITS = "零一二三四五六七八九"


def discount_text(discount: float | None) -> str:
    """0.85 -> 八五折（×0.85）, 0.9 -> 九折（×0.9）: the words people say and the multiplier, so a misreading
    (五折 for 八五折) shows before 确认; None -> empty."""
    if discount is None:
        return ""
    multiplier = f"{discount:.4f}".rstrip("0").rstrip(".")
    hundredths = round(discount * 100, 2)
    if float(hundredths).is_integer() and 0 < hundredths < 100:
        tens, ones = divmod(int(hundredths), 10)
        words = _CN_DIGITS[tens] + (_CN_DIGITS[ones] if ones else "") + "折"
    else:  # not a figure people say (a quoted price against the list price): rounded, marked as such
        words = f"约{discount * 10:.1f}折".replace(".0折", "折")
    return f"{words}（×{multiplier}）"


def price_note(listed: object, quoted: object, unit_price: object, discount: float | None) -> str:
    """List, quoted and discounted unit prices next to a line, where they differ from the price charged."""
    parts = []
    if listed is not None and Decimal(str(listed)) != Decimal(str(unit_price)):
        parts.append(ORDER_PRICE_LIST.format(price=money(listed)))
    if quoted is not None and (discount or Decimal(str(quoted)) != Decimal(str(unit_price))):
        parts.append(ORDER_PRICE_QUOTED.format(price=money(quoted)))
    if discount:
        parts.append(ORDER_PRICE_DISCOUNTED.format(discount=discount_text(discount).split("（")[0],
                                                   price=money(unit_price)))
    return ORDER_PRICE_NOTE.format(parts="，".join(parts)) if parts else ""
ORDER_STATUS = {"draft": "草稿", "pending": "待审批", "approved": "已批准", "rejected": "已驳回", "cancelled": "已取消"}

# --- orders and approvals (issue 15) ---
TODAY_AT = "今天{time}"
YESTERDAY_AT = "昨天{time}"
DAY_AT = "{month}月{day}日 {time}"
WAITED_JUST_NOW = "不到1小时"
WAITED_HOURS = "{hours}小时"
WAITED_DAYS = "{days}天"
NO_PENDING_FOR_CUSTOMER = "没有{customer}的订单在等您审批。说「待审批」看看都有哪些。"
NO_PENDING_NAMED = "您说的这家客户没有订单在等您审批。说「待审批」看看都有哪些。"
NO_ORDER_FOR_CUSTOMER = "没找到{customer}的、您能看的订单。"
ASK_WHICH_ORDER = "看哪张订单？请说单号（例如：看下SO20261127001），或客户名（例如：华为那单的明细）。"
ORDER_DETAIL = (
    "订单 {number}｜{status}\n客户：{customer}\n提交：{submitter}，{submitted}\n{lines}\n合计：{total}{discount}"
    "{note}{history}{hint}"
)
DETAIL_WAITING = "，等{approver}审批"
DETAIL_STEP = "{approver}{decision}（{when}）{reason}"
DETAIL_REASON = "：{reason}"
DETAIL_NOTE = "\n备注：{note}"
DETAIL_DECIDE_HINT = "\n回复「同意 {number}」或「驳回 {number} 原因」"
STEP_DECISION = {"approved": "已批准", "rejected": "已驳回"}
WILL_APPROVE = "要批准这张订单吗？"
WILL_REJECT = "要驳回这张订单吗？驳回原因：{reason}"
DECIDE_CONFIRM = "{what}\n{detail}\n回复「确认」执行，「取消」放弃。"

# --- members (issue 6) ---
ASK_MEMBER_LOOKUP = "请提供会员姓名和会员号（例如：查会员 王小明 VIP0023），或完整手机号。"
MEMBER_NOT_FOUND = "未找到。请核对「姓名 + 会员号」或完整手机号。"
MEMBER_CARD = "会员：{name}（{member_no}）\n等级：{tier}　积分：{points}\n会员有效期至：{expires}{phone}"
MEMBER_CARD_PHONE = "\n手机：{phone}"
ASK_MEMBER_NO = "是哪位会员？请说会员号，例如：VIP0023"
PURCHASE_RETURN_NOT_HERE = "退货、退款要在收银系统里办理（积分会一起退回）；这里不能记，这条没有记录。"
ASK_PURCHASE_AMOUNT = "消费了多少钱？例如：1288元"
PURCHASE_AMOUNT_INVALID = "消费金额应大于0元且不超过100万元，请重新说一下金额。"
PURCHASE_SAVED = "已记录：{member_no} 消费{amount}，获得{earned}积分，当前积分{points}。"
PURCHASE_PROMOTION = "（促销{multiplier}倍积分）"
PURCHASE_UPGRADED = "\n会员已升级为{tier}！"
REDEEM_SAVED = "已抵扣：{member_no} 使用{used}积分，抵{yuan}，剩余积分{points}。"
POINTS_STAFF_HINT = "员工请用「查会员 姓名 会员号」或「查会员 手机号」查看会员积分。"
POINTS_SUMMARY = "{name}您好，您的积分：{points}分\n等级：{tier}"
POINTS_EXPIRING = "\n其中{points}分将于{day}到期"
POINTS_MEMBERSHIP = "\n会员有效期至：{day}"
UNSUBSCRIBED = "已退订，之后不再给您发送关怀消息。想恢复请回复「订阅」。"
ALREADY_UNSUBSCRIBED = "您已经退订了。想恢复请回复「订阅」。"
SUBSCRIBED = "已恢复订阅，之后会继续给您发送积分和会员关怀消息。回复「退订」可随时停止。"
ALREADY_SUBSCRIBED = "您已在订阅中。回复「退订」可随时停止。"
MEMBER_SALES_HEADER = "{start}至{end} 各门店会员消费："
MEMBER_SALES_STORE = "· {store}：{amount}，{purchases}笔，{members}位会员"
MEMBER_SALES_CLERK = "　- {clerk}：{amount}，{purchases}笔"
MEMBER_SALES_NONE = "{start}至{end} 没有会员消费记录。"
UNSET = "未设置"

# --- reports, hand-over, export (issue 9) ---
REPORT_CHART_FAILED = "（图表暂时生成不了，先看文字版。）"
REPORT_EXPORTED = "已导出{count}条{what}（{start}至{end}），文件：{name}"
REPORT_EXPORT_WHAT = {"visits": "拜访记录", "orders": "订单", "customers": "客户", "members": "会员资料"}
ASK_HANDOVER_TARGET = "转给谁跟进？请说员工姓名，例如：转给李娜"
ASK_HANDOVER_SOURCE = "转移谁的客户？例如：把张伟的客户都转给李娜，或：华为这个客户转给李娜"
HANDOVER_STAFF_UNKNOWN = "没找到员工“{name}”。可选：{options}"
HANDOVER_SUMMARY = (
    "客户转移：\n从：{source}\n给：{target}\n客户：{count}个（{names}）\n"
    "进行中的商机：{opportunities}个\n待办提醒：{reminders}条"
)
HANDOVER_DONE = "已把{count}个客户转给{target}（商机{opportunities}个、提醒{reminders}条一并转移），已通知{target}。"

# --- hand-over and staff (issue 15) ---
HANDOVER_AMBIGUOUS = "“{name}”对应多个客户：{options}，请说全名。"
HANDOVER_CUSTOMER_UNKNOWN = "没找到客户“{name}”。"
HANDOVER_DID_YOU_MEAN = "您是说{options}吗？"
HANDOVER_NOTHING_MOVED = "这次没有转移任何客户，请改好后重新发一遍。"
HANDOVER_UNSHARE = "\n取消{source}的共享客户：{count}个（{names}）"
VISIT_COLLEAGUE_CUSTOMER = "{name}由同事负责，如需协同请找经理。这次拜访没有记录。"
ASK_DEACTIVATE_STAFF = "停用哪位员工的账号？请说姓名，例如：停用王强的账号"
DEACTIVATE_STAFF_UNKNOWN = "没找到在职员工“{name}”。可选：{options}"
DEACTIVATE_SUMMARY = (
    "停用员工账号：\n员工：{name}（{role}）\n解除聊天绑定：{chats}个\n取消共享客户：{shares}个\n"
    "未完成的提醒：{reminders}条（有客户的交给客户负责人，其余取消）\n停用后{name}不能再使用销售助手，历史记录都保留。"
)
DEACTIVATE_DONE = "已停用{name}的账号，解除了{chats}个聊天绑定。"
HANDOVER_DEACTIVATE_HINT = "\n如{name}已离职，可以接着发「停用{name}的账号」。"
HANDOVER_ALREADY = "\n已经是{target}负责的，不用转：{names}"
HANDOVER_ONE_SOURCE = "这句话里有几位员工（{names}），一次只转一位员工的客户，这次没有转移。请分开发，例如：把{first}的客户都转给某某。"
# --- store clerks and members (issue 15) ---
LOOKUP_NAME_ONLY = "只凭姓名不能查，请加手机号或会员号（例如：查会员 王小明 VIP0023，或 查会员 王小明 13800138000）。"
LOOKUP_NUMBER_ONLY = "只凭会员号不能查，请加上姓名（例如：查会员 王小明 VIP0023），或用完整手机号查。"
POINTS_OF_MEMBER = "{name}（{member_no}）的积分：{points}分\n等级：{tier}"
COUNTER_WHO = "{name}（{member_no}）"
PURCHASE_PREVIEW = "会员消费：\n会员：{who}\n金额：{amount}\n门店：{store}\n本次可得积分：{earned}{promotion}"
REDEEM_PREVIEW = "积分抵扣：\n会员：{who}\n抵扣积分：{points}分（抵{yuan}）\n当前可用积分：{available}，抵扣后：{left}"
ASK_REDEEM_POINTS = "要用多少积分抵扣？例如：500积分（不抵扣请说「不用积分」）。"
REDEEM_WORTH_DIFFERS = "按本店规则{points}积分抵{worth}，不是{said}。"
REDEEM_YUAN_UNCLEAR = "{yuan}换不成整数的积分，请直接说抵扣多少积分，例如：积分抵扣1000。"
REDEEM_POINTS_NOT_POSITIVE = "抵扣积分应为正整数，请重新说一下，例如：积分抵扣1000。"
ASK_NEW_MEMBER_NAME = "新会员叫什么名字？"
ASK_NEW_MEMBER_PHONE = "新会员的手机号是多少？（办卡需要11位手机号）"
ASK_BIRTHDAY_YEAR = "生日是哪一年的？请说完整生日，例如：1990年3月5日（不填生日请说「不填」）。"
BIRTHDAY_UNREADABLE = "生日日期不对，请重新说一下，例如：生日1990年3月5日。"
NEW_MEMBER_SUMMARY = (
    "办会员卡：\n姓名：{name}\n手机：{phone}\n等级：{tier}\n生日：{birthday}\n有效期：{start}至{end}\n门店：{store}"
)
NEW_MEMBER_SAVED = "已办卡：{name}，会员号{member_no}，{tier}，有效期至{end}。"
ASK_RENEW_MEMBER = "给哪位会员续卡？请说会员号（例如：续卡 VIP0023 一年）或完整手机号。"
ASK_RENEW_PERIOD = "续多久？例如：一年、半年、两年。"
RENEW_SUMMARY = "会员续卡：\n会员：{name}（{member_no}）\n续期：{period}\n有效期：{old} → {new}"
RENEW_SAVED = "已续卡：{name}（{member_no}），有效期至{end}。"
PERIOD_YEARS = "{years}年"
PERIOD_MONTHS = "{months}个月"
PERIOD_YEARS_MONTHS = "{years}年{months}个月"
NEW_MEMBER_PHONE_BAD = "「{text}」不是11位手机号，请再说一下新会员的手机号。"
# --- corrections at the preview (issue 15) ---
FIX_WHICH_FIELD = "要改哪一项？可以改：{fields}。例如「{example}」；不要了请说「取消」。"
FIX_NO_SUCH_FIELD = "这一条没有这一项。可以改：{fields}。"
WHAT_IS_WRONG = "哪里不对？直接说正确的内容（例如「不对，是138块」），或说「取消」放弃。"
WHAT_TO_CHANGE = "哪里不对？直接说要改的，例如「{example}」。可以改：{fields}；不要了请说「取消」。"
FIX_EXAMPLE = {
    "log_visit": "时间改成前天", "add_customer": "联系人改成李红", "update_opportunity": "金额改成150万",
    "submit_order": "数量改成8台", "set_reminder": "时间改成明天下午3点",
}
FIX_ASK_VALUE = "{field}改成什么？"
FIX_FIELD_LABEL = {
    "contact": "联系人", "phone": "电话", "time": "时间", "visit_time": "拜访时间", "followup": "跟进时间",
    "next_step": "下一步", "content": "内容", "amount": "金额", "total": "总价", "quantity": "数量", "unit_price": "单价",
    "discount": "折扣", "industry": "行业", "region": "地区", "stage": "阶段", "probability": "赢单概率",
    "close": "签约时间", "customer": "客户", "name": "名称",
}
FIX_CONTACT_BAD = "「{text}」不像联系人的名字，请说例如「联系人改成李红」。"
FIX_PHONE_BAD = "「{text}」不是有效的电话号码，请说11位手机号或带区号的座机。"
FIX_TIME_BAD = "没看懂「{text}」是哪天，请说例如「前天下午3点」「下周五」。"
FIX_TIME_PAST = "{when}已经过去了，跟进时间请说一个以后的时间。"
FIX_VISIT_IN_FUTURE = "「{text}」还没到，拜访时间不能是以后。如果是下次跟进，请说「跟进改到{text}」。"
FIX_AMOUNT_BAD = "「{text}」不是一个确定的金额，请说例如「150万」「12800元」。"
FIX_STAGE_BAD = "没看懂阶段「{text}」。可选：{stages}。"
FIX_PROBABILITY_BAD = "赢单概率请说0到100之间的数，例如「70%」。"
FIX_QUANTITY_BAD = "「{text}」不是有效的数量，请说例如「8台」。"
FIX_DISCOUNT_BAD = "没看懂折扣「{text}」，请说例如「85折」「九折」，或「不打折」。"
FIX_NAME_BAD = "客户名称请说2到40个字。"
CUSTOMER_INDUSTRY_LINE = "\n行业：{industry}"
CUSTOMER_REGION_LINE = "\n地区：{region}"
NEXT_STEP_DEFAULT = SM.DEFAULT_NEXT_STEP
VISIT_NEXT_STEP = "\n下一步：{next_step}"
THANKS = "不客气！有事随时说。"
THANKS_FORM_WAITING = "不客气！这条还没保存，回复「确认」保存，或直接说要改的内容。"
PARKED_FORM = "（刚才的「{job}」先放一边，这条办完接着办。）"
DROPPED_FORM = "（刚才未完成的「{job}」已放弃，以这条为准。）"
RESUME_FORM = "接着刚才的「{job}」："
MISTAKE_HELP = (
    "刚才那条可以这样改：\n· 回复「撤销」撤回（保存后{minutes}分钟内）\n"
    "· 直接说要改的，例如「改一下刚才华为那条拜访的时间」「把刚才那条提醒删了」「华为那个商机金额改成150万」"
)
MISTAKE_HELP_LATE = (
    "已经过了撤销时间，可以直接说要改的，例如：\n· 改一下刚才华为那条拜访的时间\n· 刚才那条提醒改到明天下午3点\n"
    "· 把刚才那条提醒删了\n· 华为那个商机金额改成150万"
)

# --- editing saved records (issue 15) ---
JOB_TITLES["edit_record"] = "修改记录"
EDIT_KIND = {"visit": "拜访记录", "reminder": "提醒", "opportunity": "商机"}
EDIT_NOT_FOUND = "没找到您记的{what}。可以先说「华为最近怎么样了」看看记录。"
EDIT_OPPORTUNITY = "商机不能删除。没做成请说「华为的项目丢单了」；要改金额、阶段等请说「华为那个商机金额改成150万」。"
EDIT_FIELD_NAMES = {"visit": "时间、联系人、内容、下一步、跟进时间", "reminder": "提醒时间、内容"}
EDIT_FIELD_NOT_EDITABLE = "保存后的这条只能改：{fields}。"
EDIT_ASK_CHANGE = "要改什么？可以改：{fields}。例如「时间改成前天」。"
EDIT_ASK_VALUE = "{field}改成什么？"
EDIT_FIELD_LABEL = {"time": "时间", "visit_time": "拜访时间", "followup": "跟进时间", "contact": "联系人",
                    "content": "内容", "next_step": "下一步"}
EDIT_SLOT_LABEL = {"visited_at": "时间", "contact": "联系人", "summary": "内容", "next_step": "下一步",
                   "followup_at": "跟进提醒", "due_at": "提醒时间", "text": "内容"}
EDIT_VISIT_TITLE = "{customer} {when} 的拜访"
EDIT_REMINDER_TITLE = "{when} 的提醒「{text}」"
EDIT_SUMMARY = "修改{title}：\n{changes}"
EDIT_CHANGE_LINE = "{label}：{before} → {after}"
EDIT_DELETE_SUMMARY = "删除{title}？"
EDIT_VISIT_SAVED = "已修改{customer}的拜访记录。"
EDIT_REMINDER_SAVED = "已修改提醒：{when} {text}"
EDIT_VISIT_DELETED = "已删除{customer}的这条拜访记录。"
EDIT_REMINDER_DELETED = "已删除提醒「{text}」。"
# --- multi-part reports and voice messages (issue 17) ---
VOICE_HEARD = "🎤 语音识别：「{text}」（有听错的字请直接说正确的内容）"
VISIT_VOICE = "\n来源：语音"
VISIT_TWO_CUSTOMERS = "这条拜访提到了{count}个客户（{query}），一条拜访记录只记一个客户。这次记哪一个？请回复序号（另一个请单独发一条）：\n{options}"
COMBINED_SUMMARY_HEAD = "这条消息一共{count}项，确认后一起保存："
COMBINED_PART_NAMES = {"log_visit": "拜访", "add_customer": "新客户", "update_opportunity": "商机",
                       "submit_order": "订单", "set_reminder": "提醒"}
COMBINED_CORRECT_HINT = "要改某一项请带上序号或名称，例如「②金额改成85万」「提醒不要了」。"
COMBINED_ASK_PART = "{n}{job}："
COMBINED_WHICH_PART = "要改哪一项？请带上序号，例如「②金额改成85万」。现在有：{parts}"
COMBINED_NOTHING_LEFT = "各项都去掉了，没有要保存的内容。说「取消」结束，或重新说一遍。"
COMBINED_NOTHING_SAVED = "（这条消息的各项都还没有保存）"
COMBINED_SAVED = "已保存{count}项{voice}："
COMBINED_SAVED_VOICE = "（语音记录）"
COMBINED_EXTRA_LATER = "另外您还说了「{text}」，保存后单独处理。"
COMBINED_EXTRA_SEND = "另外您说的「{text}」没有一起处理，请单独发给我。"
