"""Every sentence the dialogs say, in one place for review. Short, plain, fits a phone screen."""

from __future__ import annotations

from datetime import date, datetime

WEEKDAYS = "一二三四五六日"

LIFECYCLE = {
    "target": "目标客户",
    "prospect": "潜在客户",
    "opportunity": "当前机会",
    "customer": "成交客户",
    "dormant": "休眠",
    "lost": "流失",
}
STAGE = {
    "initial": "初步接触",
    "qualified": "需求确认",
    "proposal": "方案/报价",
    "negotiation": "商务谈判",
    "won": "赢单",
    "lost": "输单",
}
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
DROPPED_FORM = "（刚才未完成的「{job}」已放弃）"
CONFIRM_HINT = "回复「确认」保存，「取消」放弃，或直接说要改的内容。"
CONFIRM_AGAIN = "还没保存。" + CONFIRM_HINT
SAVED_UNDO_HINT = "（{minutes}分钟内可回复「撤销」）"
PICK_PROMPT = "找到{count}个“{query}”，请回复序号：\n{options}"
PICK_INVALID = "请回复 1 到 {count} 之间的序号，或说「取消」。"
CUSTOMER_NOT_FOUND = "没找到客户“{name}”。请再说一下客户名称，或说「取消」。"
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
    "list_followups": "今日跟进",
    "submit_order": "下订单",
    "approve": "审批",
    "reject": "审批",
    "list_approvals": "待审批",
    "transfer_customers": "客户转移",
    "member_lookup": "查会员",
    "record_purchase": "会员消费",
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
        "万科物业的电话是多少",
        "长城汽车最近怎么样了",
        "长城汽车的项目到商务谈判了 金额60万",
        "后天上午10点提醒我给林总发合同",
        "今天该联系谁",
        "撤销（撤回刚才保存的内容）",
    ],
    "manager": [
        "还有什么要我批的",
        "同意 SO20261127001 / 驳回 SO20261127001 价格太低",
        "本周销售周报",
        "把张伟的客户都转给李娜",
        "华为最近怎么样了",
        "今天该联系谁",
    ],
    "clerk": [
        "查会员 王小明 VIP0023",
        "会员VIP0023消费了1288元",
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

FOLLOWUPS_HEADER = "{day}的跟进："
FOLLOWUPS_TODAY = "今天要做（{count}）："
FOLLOWUPS_OVERDUE = "已逾期（{count}）："
FOLLOWUPS_UNTOUCHED = "超过{days}天没联系："
FOLLOWUPS_NONE = "今天没有待跟进的事项，也没有逾期的。"
FOLLOWUP_LINE = "· {when} {text}"
UNTOUCHED_LINE = "· {name}（{days}天）"

UNDO_NOTHING = "没有可以撤销的操作。"


def money(amount: object) -> str:
    """50万 style for large round figures, plain yuan otherwise."""
    if amount is None:
        return "未定"
    value = float(str(amount))
    if value >= 10000 and value % 100 == 0:
        wan = value / 10000
        return f"{wan:g}万元"
    return f"{value:,.2f}".rstrip("0").rstrip(".") + "元"


def day(value: date) -> str:
    return f"{value.month}月{value.day}日(周{WEEKDAYS[value.weekday()]})"


def when(moment: datetime, *, with_time: bool = True) -> str:
    text = f"{moment.month}月{moment.day}日(周{WEEKDAYS[moment.weekday()]})"
    if with_time and (moment.hour or moment.minute):
        text += f" {moment:%H:%M}"
    return text
