"""Everything the crmbot command line and the app config say to a person (Chinese; config errors name the key)."""

from __future__ import annotations

# --- command line --------------------------------------------------------------------------------
APP_HELP = "销售助手 crmbot：在终端对话、运行聊天渠道、管理数据库与数据"
BAD_NOW = "时间格式应为 ISO 8601，例如 2026-11-27T10:00:00+08:00：{value}"
CONFIG_OK = "配置有效。配置文件：{path}\n数据库：{database}\n数据目录：{data_dir}"
DEMO_SEEDED = "已生成演示数据（1位总监、1位经理、3位销售、1位店员、约60个客户、约200位会员）。"

# --- config (bilingual: admins paste these into searches) -----------------------------------------
CONFIG_UNKNOWN_ENV = "环境变量无法对应配置项 / environment variable matches no setting: {name}（层级之间用 __ 连接，例如 CRMBOT_DATABASE__URL）"
CONFIG_NOT_FOUND = "找不到配置文件 / config file not found: {path}"
CONFIG_NOT_YAML = "配置文件不是合法的 YAML / {path} is not valid YAML: {error}"
CONFIG_NOT_MAPPING = "配置文件顶层必须是键值对 / {path}: top level must be a mapping"
CONFIG_INVALID = "配置有误 / invalid configuration ({path})：{problems}"
# pydantic error type -> what is wrong, in Chinese (the English message follows in brackets).
PYDANTIC_ERRORS = {
    "extra_forbidden": "没有这个配置项，请检查拼写",
    "missing": "缺少这一项",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "decimal_parsing": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文字",
    "literal_error": "只能是：{expected}",
    "time_parsing": "应为时刻，例如 \"08:30\"",
    "time_type": "应为时刻，例如 \"08:30\"",
    "date_parsing": "应为日期，例如 2026-12-01",
    "date_from_datetime_parsing": "应为日期，例如 2026-12-01",
    "date_type": "应为日期，例如 2026-12-01",
    "list_type": "应为列表，例如 [30, 7]",
    "dict_type": "应为键值对",
    "model_type": "应为一组键值对（下一级配置）",
    "model_attributes_type": "应为一组键值对（下一级配置）",
    "json_invalid": "环境变量里的列表或键值对要写成 JSON，例如 '[\"张伟\"]'",
}
CONFIG_ENV_NOT_JSON = ("环境变量 {name} 是列表或键值对，要写成 JSON，例如 '[\"张伟\", \"李娜\"]' 或 '{{\"wechat\": 10}}'"
                       " / must be JSON: {value}")

# --- database problems (one line each: what is wrong, then what to do) -----------------------------
DB_URL_UNKNOWN = "（配置中的 database.url）"
DB_UNREACHABLE = ("无法连接数据库 {url}：数据库服务没有运行，或主机、端口不对。请先启动 PostgreSQL，"
                  "再检查 config.yml 的 database.url（或环境变量 CRMBOT_DATABASE__URL）。")
DB_MISSING = ("数据库「{name}」还不存在（{url}）。请先创建它：sudo -u postgres createdb -O {user} {name}，"
              "然后运行 crmbot db upgrade。")
DB_ROLE_MISSING = ("数据库用户「{user}」不存在（{url}）。请先创建：sudo -u postgres createuser -P {user}，"
                   "或改正 database.url 里的用户名。")
DB_BAD_PASSWORD = "数据库用户「{user}」登录失败（{url}）：密码不对或没有提供。请检查 database.url 里的密码。"
DB_NO_PERMISSION = ("数据库用户「{user}」没有权限（{url}）。请让数据库管理员执行："
                    "ALTER DATABASE {name} OWNER TO {user};")
DB_SQLITE_UNOPENABLE = "无法打开 SQLite 数据库文件 {path}：请检查所在文件夹存在且当前用户可写。"
DB_LOCKED = "数据库正忙（另一个 crmbot 进程正在写入），请稍后再试。"
DB_BAD_URL = "数据库地址写法不对：{error}。示例：sqlite:///var/crmbot.db 或 postgresql://crmbot:密码@127.0.0.1:5432/crmbot"
DB_OTHER = "数据库出错（{url}）：{error}。请检查 database.url 与数据库服务。"
DB_URL_UNSUPPORTED = "只支持 SQLite 与 PostgreSQL，例如 sqlite:///var/crmbot.db 或 postgresql://crmbot:密码@127.0.0.1:5432/crmbot（现在是：{url}）"

# --- crmbot nlu ----------------------------------------------------------------------------------
LOOKUP_FORMAT = "应写成 实体=文件，例如 customer=客户名单.txt（现在是：{item}）"
LOOKUP_ENTITY = "没有「{entity}」这种名单，可选：{choices}"
LOOKUP_MISSING = "找不到名单文件 {path}"
LOOKUP_IS_DIR = "{path} 是文件夹，请给出名单文件（每行一个名称）"
LOOKUP_NOT_UTF8 = "名单文件 {path} 不是 UTF-8 编码，请另存为 UTF-8 后再试"
LOOKUP_UNREADABLE = "无法读取名单文件 {path}：{error}"

# --- backup / restore ----------------------------------------------------------------------------
BACKING_UP = "正在备份到 {path}…"
RESTORING = "正在从 {file} 恢复…"
BACKED_UP = "已备份到 {path}（{size} 字节）"
RESTORED = "已恢复，数据库版本 {revision}"
SAFETY_COPY = "恢复前的数据库已另存为 {path}（如需找回，用 crmbot restore 这个文件 --force）"
RUN_BY_HAND = "请在有 PostgreSQL 客户端工具的机器上执行：\n{command}"

# --- import / export -----------------------------------------------------------------------------
STAFF_NOT_FOUND = "找不到员工“{name}”。"
NO_ADMIN = "数据库里没有管理员账号，请用 --as 指定。"
IMPORT_CHECKING = "校验"
IMPORT_WRITING = "导入"
IMPORT_SUMMARY = "共{total}行：{verb}{imported}行，拒绝{rejected}行"
IMPORT_VERB = "已导入"
IMPORT_VERB_DRY = "可导入"
IMPORT_DRY_NOTE = "（试运行，未写入数据库）"
IMPORT_LINE = "行号"
IMPORT_REASON = "原因"
IMPORT_MORE = "…另有{count}行，完整列表见 --report 文件"
EXPORT_FORMAT = "导出格式只能是 xlsx 或 csv。"
EXPORT_SINCE = "--since 应是日期，例如 2026-01-01：{value}"
EXPORTING = "正在导出到 {path}"
EXPORTED = "已导出{count}行：{path}"

# --- crmbot chat: the first start ------------------------------------------------------------------
OPENING_DATABASE = "正在打开数据库…"
SEEDING_DEMO = "正在准备数据（首次启动会生成一家演示公司）…"
TRAINING_NLU = "首次启动：正在训练中文理解模型（约半分钟，只需一次）…"
LOADING_NLU = "正在加载中文理解模型…"
NLU_TRAINING = "正在训练中文理解模型…"
NLU_EVALUATING = "正在训练并评估（只用训练数据训练）…"
NO_SUCH_STAFF = "没有员工“{name}”。可选：{names}"
NO_SUCH_MEMBER = "没有会员号“{member_no}”。演示数据里的会员是 VIP0001 到 VIP0200。"
