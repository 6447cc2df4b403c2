"""Every Chinese user-facing string of the CRM store, in one place."""

from __future__ import annotations

# --- staff / actors / identities ---
STAFF_NOT_FOUND = "找不到这位员工。"
STAFF_INACTIVE = "该员工账号已停用。"
IDENTITY_TARGET_REQUIRED = "请指定要绑定的员工或会员（只能选一个）。"
IDENTITY_CHANNEL_INVALID = "不支持的聊天渠道。"
NO_PERMISSION_BIND = "只有管理员可以绑定他人的账号。"
MEMBER_NOT_FOUND = "找不到这位会员。"

# --- permissions ---
NO_PERMISSION = "你没有权限执行这个操作。"
NO_PERMISSION_CUSTOMER = "你没有权限操作这个客户。"
NO_PERMISSION_CUSTOMERS = "你的角色不能查看或修改客户。"
NO_PERMISSION_OWNER = "不能把客户分配给你团队以外的人。"
STAFF_ONLY = "只有员工可以执行这个操作。"

# --- customers ---
CUSTOMER_NOT_FOUND = "找不到这个客户。"
CUSTOMER_NAME_INVALID = "客户名称不能为空，且不超过100个字。"
CUSTOMER_ALIAS_INVALID = "客户简称不能为空，且不超过100个字。"
CUSTOMER_DUPLICATE = "已有同名客户：{names}。"
LIFECYCLE_INVALID = "客户阶段无效。"
PHONE_INVALID = "电话号码格式不对：请填11位手机号，或带区号的座机号。"
CONTACT_NAME_INVALID = "联系人姓名不能为空，且不超过50个字。"
OWNER_NOT_FOUND = "找不到指定的负责人。"
DEFAULT_CONTACT_NAME = "联系人"

# --- visits ---
SUMMARY_REQUIRED = "拜访内容不能为空。"
NAIVE_DATETIME = "时间缺少时区。"
REMINDER_FOLLOWUP_TEXT = "跟进{customer} {contact}：{next_step}"
REMINDER_FOLLOWUP_TEXT_NO_CONTACT = "跟进{customer}：{next_step}"
DEFAULT_NEXT_STEP = "回访"

# --- opportunities ---
STAGE_INVALID = "商机阶段无效，可选：初步接触、需求确认、方案/报价、商务谈判、赢单、输单。"
PROBABILITY_INVALID = "赢单概率应在0到100之间。"
AMOUNT_INVALID = "金额格式不对。"
OPPORTUNITY_NOT_FOUND = "找不到这个商机。"
OPPORTUNITY_AMBIGUOUS = "这个客户有多个进行中的商机，请选一个。"
OPPORTUNITY_CLOSED = "这个商机已经结束。"
OPPORTUNITY_DEFAULT_TITLE = "{customer}项目"

# --- reminders ---
REMINDER_TEXT_REQUIRED = "提醒内容不能为空。"
CONTACT_NOT_FOUND = "找不到这个联系人。"

# --- undo ---
NOTHING_TO_UNDO = "没有可以撤销的操作"
UNDO_CUSTOMER_IN_USE = "客户已有后续记录，不能撤销创建。"
UNDONE = "已撤销：{what}"
UNDO_WHAT_VISIT = "{customer}的拜访记录"
UNDO_WHAT_CUSTOMER = "新建客户{customer}"
UNDO_WHAT_OPP_CREATE = "新建商机「{title}」"
UNDO_WHAT_OPP_UPDATE = "商机「{title}」的更新"
UNDO_WHAT_REMINDER = "提醒「{text}」"
# --- multi-part reports (issue 17) ---
UNDO_WHAT_GROUP = "一起保存的{count}项（{what}）"
HISTORY_VOICE = "（语音）"

# --- history lines ---
STAGE_NAMES = {
    "initial": "初步接触",
    "qualified": "需求确认",
    "proposal": "方案/报价",
    "negotiation": "商务谈判",
    "won": "赢单",
    "lost": "输单",
}
LIFECYCLE_NAMES = {
    "target": "目标客户",
    "prospect": "潜在客户",
    "opportunity": "当前机会",
    "customer": "成交客户",
    "dormant": "休眠",
    "lost": "流失",
}
ORDER_STATUS_NAMES = {
    "draft": "草稿",
    "pending": "待审批",
    "approved": "已批准",
    "rejected": "已驳回",
    "cancelled": "已取消",
}
HISTORY_VISIT = "拜访{contact}：{summary}"
HISTORY_VISIT_NO_CONTACT = "拜访：{summary}"
HISTORY_OPP_NEW = "商机「{title}」：新建，{to}"
HISTORY_OPP_CHANGE = "商机「{title}」：{from_}→{to}"
HISTORY_AMOUNT = "，金额{amount}"
HISTORY_ORDER = "订单{number}：{total}元，{status}"

# --- demo / cli ---
DEMO_ALREADY_SEEDED = "数据库里已有员工，不再生成演示数据。"
CLI_UPGRADED = "数据库已升级到版本 {revision}"
CLI_CURRENT = "当前数据库版本：{revision}"
CLI_NO_REVISION = "数据库尚未初始化（无版本）"
CLI_SEEDED = "演示数据已生成："
CLI_SEED_REFUSED = "未生成演示数据：{reason}"
DEMO_COUNT_LABELS = {
    "staff": "员工",
    "customers": "客户",
    "contacts": "联系人",
    "visits": "拜访",
    "opportunities": "商机",
    "orders": "订单",
    "products": "产品",
    "members": "会员",
    "purchases": "消费",
    "points_ledger": "积分流水",
    "reminders": "提醒",
}

# --- binding (channels, issue 7) ---
BIND_CODE_INVALID = "邀请码不对或已失效，请核对后重发，或找管理员重新生成。"
BIND_CODE_USED = "这个邀请码已经用过了，请找管理员重新生成。"
BIND_CODE_EXPIRED = "这个邀请码已过期，请找管理员重新生成。"
BIND_STAFF_INACTIVE = "该员工账号已停用，不能绑定。"
BIND_MEMBER_MISMATCH = "会员号或手机后四位不匹配，请核对后重发。"
BIND_TOO_MANY = "尝试次数太多，请 1 小时后再试。"
BIND_ALREADY = "这个账号已经绑定过了。如需更换，请先发送「解绑」。"
BIND_NOT_BOUND = "这个账号还没有绑定。"
BIND_ADMIN_ONLY = "只有管理员可以生成邀请码或解绑他人。"

# --- scheduler / outbox (issue 8) ---
REMINDER_DUE = "该跟进{who}了：{text}"
REMINDER_DUE_PLAIN = "提醒：{text}"
REMINDER_LAST_VISIT = "\n上次（{date}）：{summary}"
REMINDERS_MISSED = "系统停机期间有{count}条提醒已过期：\n{lines}"
DIGEST_HEAD = "早上好！今天的跟进安排："
DIGEST_TODAY = "今天{count}项：\n{lines}"
DIGEST_OVERDUE = "已逾期{count}项：\n{lines}"
DIGEST_MORE = "…等共{count}项"
DORMANT_ALERT = "{customer}已经{days}天没有联系了，已标记为休眠。上次联系：{last}。"
OUTBOX_NOT_FOUND = "找不到这条消息。"
OUTBOX_ONE_RECIPIENT = "消息必须只有一个收件人。"
OUTBOX_NOT_RETRYABLE = "只有发送失败的消息可以重发。"
OUTBOX_ADMIN_ONLY = "只有管理员可以重发消息。"
OUTBOX_NO_CHANNEL = "收件人没有绑定可用的聊天渠道"
OUTBOX_CLAIM_EXPIRED = "多次发送中断，已放弃"

# --- orders and approvals (issue 15) ---
UNDO_DECISION_LATER = "这张订单后面已经有人审批过（或已撤回），不能撤销了。"
UNDO_WHAT_APPROVE = "对订单{number}的批准（订单重新等您审批）"
UNDO_WHAT_REJECT = "对订单{number}的驳回（订单重新等您审批）"
NOTICE_APPROVAL_UNDONE = "{approver}撤回了对订单 {number} 的批准，订单重新等待{approver}审批。"
NOTICE_REJECTION_UNDONE = "{approver}撤回了对订单 {number} 的驳回，订单重新等待{approver}审批。"
NOTICE_REQUEST_WITHDRAWN = "{approver}撤回了对订单 {number} 的审批，这张单暂时不用您审批了。"
ORDER_NOT_VISIBLE = "这张订单不是您的客户的，看不了。"
NOTICE_ORDER_WITHDRAWN = "订单 {number}（{total}）已被{submitter}撤回，不用再审批了。"
OUTBOX_UNREACHABLE = "{name}还没有绑定聊天账号，这条消息暂时送不到：「{what}」。TA绑定后会自动收到，急的话请当面或电话提醒TA。"
INBOX_NOT_FOUND = "收件箱里没有这条消息。"
INBOX_NOT_RETRYABLE = "只有处理失败的消息可以重新处理。"
INBOX_ADMIN_ONLY = "只有管理员可以重新处理消息。"

# --- orders and approvals (issue 5) ---
ORDER_NOT_FOUND = "找不到这张订单。"
ORDER_NO_LINES = "订单里至少要有一样产品。"
ORDER_TOO_MANY_LINES = "一张订单最多{limit}行产品。"
ORDER_PRODUCT_REQUIRED = "请说明产品名称。"
ORDER_PRODUCT_UNKNOWN = "没找到产品「{name}」。可选：{options}"
ORDER_QUANTITY_INVALID = "数量必须是大于0的整数（最多{limit}）。"
ORDER_PRICE_REQUIRED = "「{name}」没有标准价，请说明单价或总价。"
ORDER_TOTAL_TOO_LARGE = "订单金额太大，请核对。"
ORDER_DISCOUNT_INVALID = "折扣应在0到1之间，例如85折就是0.85。"
ORDER_NOTE_TOO_LONG = "备注太长了（最多{limit}字）。"
ORDER_NOT_DRAFT = "这张订单已经提交过了（{status}）。"
ORDER_NOT_YOURS = "只能提交自己的订单。"
NO_APPROVER = "找不到可以审批的人，请联系管理员设置上级。"
NO_APPROVAL_RIGHT = "您没有审批权限。"
NOT_YOUR_APPROVAL = "这张订单不归您审批。"
NOT_YOUR_TURN = "这张订单还在等{approver}审批，还没轮到您。"
ALREADY_DECIDED = "该订单已处理（{status}），无需重复操作。"
NOTHING_TO_APPROVE = "目前没有等您审批的订单。"
SEVERAL_TO_APPROVE = "您有{count}张待审批的订单，请说明是哪一张。"
REJECT_REASON_REQUIRED = "请说一下驳回原因"
REASON_TOO_LONG = "原因太长了（最多{limit}字）。"

# --- members (issue 6) ---
MEMBER_LOOKUP_NOT_FOUND = "未找到。请核对「姓名 + 会员号」或完整手机号。"
MEMBER_LOOKUP_LIMITED = "查询失败次数过多，请{minutes}分钟后再试。"
NO_PERMISSION_MEMBERS = "你的角色不能查询或登记会员。"
NO_PERMISSION_MEMBER_STATS = "只有经理及以上可以查看门店会员消费统计。"
MEMBER_SELF_ONLY = "只有会员本人可以办理。"
PURCHASE_AMOUNT_INVALID = "消费金额应大于0元且不超过100万元。"
REDEEM_POINTS_INVALID = "抵扣积分应为正整数。"
REDEEM_OVER_BALANCE = "积分不足：当前可用{points}分，不能抵扣{wanted}分。"
NO_STORE = "未指定门店"
ESCALATION_REMIND = "【审批提醒】订单 {number}（{customer}，{total}元）已等您审批{hours}小时，请尽快处理。"
ESCALATION_ESCALATE = "【审批超时】订单 {number}（{customer}，{total}元）等{approver}审批已超过{hours}小时，请督促或直接处理。"
NO_CLERK = "未登记店员"
SPAN_INVALID = "结束时间应晚于开始时间。"
CARE_KIND_UNKNOWN = "没有这种关怀模板：{kind}"
STEP_STATUS_NAMES = {"approved": "已同意，转下一级审批", "rejected": "已驳回", "skipped": "已结束"}
UNDO_WHAT_PURCHASE = "会员{member_no}的消费{amount}"
UNDO_WHAT_REDEEM = "会员{member_no}的积分抵扣{points}分"
UNDO_WHAT_PURCHASE_REDEEM = "（连同积分抵扣{points}分）"
UNDO_POINTS_USED = "这笔消费的积分已被使用，不能撤销。"
UNDO_WHAT_ORDER = "订单{number}的提交（已取消）"
UNDO_ORDER_DECIDED = "订单已经开始审批，不能撤销了。"

# --- reports, hand-over, import / export (issue 9) ---
REPORT_NO_PERMISSION = "你的角色不能查看销售报表。"
REPORT_SPAN_INVALID = "报表的结束时间应晚于开始时间，且不超过一年。"
REPORT_TITLE = "销售报表"
REPORT_TITLE_WEEKLY = "销售周报"
REPORT_TITLE_FUNNEL = "销售漏斗"
REPORT_TITLE_VISITS = "拜访统计"
REPORT_SCOPE_OWN = "我的"
REPORT_SCOPE_ALL = "全公司"
REPORT_SCOPE_TEAM = "{team}"
REPORT_PERSON_OUT_OF_SCOPE = "{name}不在您的团队，看不到他的业绩。"
REPORT_HEAD = "{title}｜{scope}｜{start}至{end}"
REPORT_VISITS = "拜访：{count}次（{label}{previous}次，{delta}）"
REPORT_VISITS_PERSON = "· {name}：{count}次（{label}{previous}）"
REPORT_NEW_CUSTOMERS = "新增客户：{count}个（{label}{previous}个，{delta}）"
REPORT_WON = "赢单：{count}个，{amount}（{label}{previous}个，{previous_amount}）"
REPORT_LOST = "输单：{count}个，{amount}"
REPORT_ORDERS = "批准订单：{count}张，{amount}（{label}{previous_amount}）"
REPORT_PIPELINE = "进行中的商机：{count}个，{amount}（加权{weighted}）"
REPORT_PIPELINE_STAGE = "· {stage}：{count}个，{amount}"
REPORT_PIPELINE_EMPTY = "进行中的商机：暂无"
REPORT_DELTA_UP = "+{value}"
REPORT_DELTA_DOWN = "-{value}"
REPORT_DELTA_SAME = "持平"
REPORT_CHART_VISITS = "拜访次数"
REPORT_CHART_PIPELINE = "商机漏斗（金额）"
REPORT_CHART_CURRENT = "本期"
REPORT_CHART_PREVIOUS = "上期"
REPORT_PREVIOUS_SAME_TIME = "上期同期"
REPORT_CHART_STORES = "各门店会员消费（{start}至{end}）"
REPORT_NOBODY = "（无人）"
REPORT_AXIS_WAN = "金额（万元）"
REPORT_AXIS_YUAN = "金额（元）"
REPORT_AXIS_VISITS = "拜访次数"
WEEKLY_NOT_MANAGER = "只有销售经理会收到团队周报。"

HANDOVER_NO_PERMISSION = "只有经理、总监或管理员可以转移客户。"
HANDOVER_NOT_YOUR_TEAM = "{name}不在你的团队里，不能转移他的客户。"
HANDOVER_TARGET_INVALID = "不能把客户转给{name}（{reason}）。"
HANDOVER_TARGET_INACTIVE = "账号已停用"
HANDOVER_TARGET_ROLE = "该角色不负责客户"
HANDOVER_SAME_PERSON = "客户已经是{name}负责的了。"
HANDOVER_NOTHING = "{name}名下没有客户，不需要转移。"
HANDOVER_NO_SOURCE = "请说明要转移谁的客户，或哪个客户。"
HANDOVER_CHANGED = "客户在确认前已有变动，请重新发起转移。"
HANDOVER_NOTICE_HEAD = "{actor}把{count}个客户转给您跟进（原负责人：{source}）："
HANDOVER_NOTICE_CUSTOMER = "【{name}】{lifecycle}，最近联系：{last}"
HANDOVER_NOTICE_OPP = "　商机：{title} {stage} {amount}"
HANDOVER_NOTICE_REMINDERS = "　待办提醒：{count}条"
HANDOVER_NOTICE_HISTORY = "　{day} {text}"
HANDOVER_NOTICE_MORE = "…另有{count}个客户，发「{name}最近怎么样了」查看。"
HANDOVER_NEVER = "从未"
STAFF_DEACTIVATE_NO_PERMISSION = "只有管理员、总监或其直属经理可以停用员工账号。"
STAFF_STILL_OWNS = "{name}名下还有{count}个客户，没有停用。请先转移客户（例如发「把{name}的客户都转给某某」），再停用。"
STAFF_ALREADY_INACTIVE = "{name}的账号已经停用了。"

IMPORT_ADMIN_ONLY = "只有管理员可以导入数据。"
IMPORT_KIND_UNKNOWN = "不支持导入{kind}（可选：customers、members、products、staff）。"
IMPORT_FILE_TYPE = "只支持 .xlsx 或 .csv 文件。"
IMPORT_FILE_UNREADABLE = "文件读不出来：{reason}"
IMPORT_NO_HEADER = "找不到表头：第一行应是列名，例如：{examples}"
IMPORT_MISSING_COLUMN = "缺少必需的列：{columns}"
IMPORT_REQUIRED = "缺少{field}"
IMPORT_TOO_LONG = "{field}太长（最多{limit}字）"
IMPORT_DUP_EXISTING = "与已有的「{name}」重复"
IMPORT_DUP_FILE = "与第{line}行重复"
IMPORT_OWNER_UNKNOWN = "找不到负责人「{name}」，可选：{choices}"
IMPORT_OWNER_ROLE = "「{name}」不负责客户，可选：{choices}"
IMPORT_LIFECYCLE_UNKNOWN = "客户阶段「{value}」无效，可选：{choices}"
IMPORT_PHONE_INVALID = "电话「{value}」格式不对"
IMPORT_NUMBER_INVALID = "{field}「{value}」不是有效数字"
IMPORT_DATE_INVALID = "{field}「{value}」不是有效日期"
IMPORT_MEMBER_NO_INVALID = "会员号「{value}」格式不对"
EXPORT_KIND_UNKNOWN = "不支持导出{kind}（可选：customers、visits、orders、members）。"
EXPORT_FORMAT_UNKNOWN = "导出格式只能是 xlsx 或 csv。"
EXPORT_NO_PERMISSION = "只有经理、总监或管理员可以导出数据。"
EXPORT_MEMBERS_NO_PERMISSION = "只有总监或管理员可以导出会员资料。"


# --- follow-ups (issue 15) ---
REMINDER_NOT_FOUND = "没找到这条提醒（只能处理自己的提醒）。"
REMINDER_ALREADY_CLOSED = "提醒「{text}」已经处理过了。"
REMINDER_STATUS_INVALID = "提醒只能标记为完成或取消。"
UNDO_WHAT_REMINDER_DONE = "{count}条提醒的完成标记（已恢复为待办）"
UNDO_WHAT_REMINDER_CANCEL = "{count}条提醒的取消（已恢复为待办）"

def money(amount: object, unit: str = "元") -> str:
    """Money as people say it: 60万 for large round figures, 1,299 otherwise; `unit` follows the number."""
    value = float(str(amount))
    if value >= 10000 and value % 100 == 0:
        return f"{value / 10000:g}万{unit}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") + unit

# --- hand-over and staff (issue 15) ---
STAFF_DEACTIVATE_SELF = "不能停用自己的账号。"
STAFF_ROLE_INVALID = "角色“{value}”无效，可选：{choices}"
STAFF_NAME_REQUIRED = "请填写员工姓名。"
STAFF_NAME_INVALID = "员工姓名“{value}”不对：2–20个字，不能含空格或标点。"
STAFF_DUPLICATE = "已有员工“{name}”（{role}），姓名不能重复。"
STAFF_MANAGER_UNKNOWN = "找不到上级“{name}”，可选：{choices}"
STAFF_MANAGER_ROLE = "“{name}”是{role}，不能做上级；上级须是经理、总监或管理员，可选：{choices}"
STAFF_MANAGER_INACTIVE = "上级“{name}”的账号已停用。"
STAFF_PHONE_INVALID = "手机号“{value}”格式不对。"
STAFF_ROLE_NAMES = {"rep": "销售", "manager": "销售经理", "director": "总监", "clerk": "店员", "admin": "管理员"}
STAFF_ADD_ADMIN_ONLY = "只有管理员可以添加员工。"
HANDOVER_NOT_OWNED = "{names}不是{source}负责的客户，没有转移。请核对后再发。"
STAFF_MANAGER_CYCLE = "不能让{manager}做{name}的上级：{name}已经是{manager}的上级（直接或间接）。"
STAFF_STILL_MANAGES = "{name}还是{count}位在职员工的直属上级（{names}），没有停用。请先给他们换上级，例如：crmbot staff set-manager {first} 新上级姓名。"
# --- store clerks and members (issue 15) ---
COUNTER_MEMBER_UNKNOWN = "找不到会员号{member_no}，请核对会员号（或先用「查会员 姓名 会员号」/完整手机号查到会员）。"
REDEEM_OVER_BALANCE_MEMBER = "积分不足：{name}（{member_no}）当前可用{points}分，不能抵扣{wanted}分。"
REDEEM_NOTHING = "{name}（{member_no}）目前没有可用积分，不能抵扣。"
MEMBER_NAME_INVALID = "会员姓名应为1–20个汉字或字母。"
MEMBER_PHONE_MOBILE = "办卡需要会员本人的11位手机号。"
MEMBER_PHONE_TAKEN = "这个手机号已经是会员：{name}（{member_no}），不能重复办卡。要续卡请说「续卡 {member_no} 一年」。"
MEMBER_TIER_UNKNOWN = "没有「{tier}」这个等级，可选：{tiers}。"
MEMBER_BIRTHDAY_INVALID = "生日不对：应在1900年之后、不晚于今天。"
MEMBER_PERIOD_INVALID = "期限应为1个月到10年，例如：一年、半年、6个月。"
UNDO_MEMBER_IN_USE = "会员{member_no}已经有消费、积分或绑定记录，不能撤销办卡。"
UNDO_WHAT_MEMBER_CREATE = "新会员{name}（{member_no}）的办卡"
UNDO_WHAT_MEMBER_RENEW = "会员{member_no}的续卡（有效期恢复为{expires}）"
NO_EXPIRY = "未设置"
REDEEM_OVER_PURCHASE = "{points}积分可抵{yuan}，超过了这次消费{amount}，请少用一些积分。"
# --- editing saved records (issue 15) ---
VISIT_NOT_FOUND = "找不到这条拜访记录。"
REMINDER_GONE = "找不到这条提醒（可能已经完成或取消了）。"
NO_PERMISSION_RECORD = "这条记录不是您记的，只有记录人或其上级可以修改。"
UNDO_WHAT_VISIT_EDIT = "{customer}拜访记录的修改"
UNDO_WHAT_REMINDER_EDIT = "提醒「{text}」的修改"
