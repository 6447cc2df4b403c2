"""User-facing text of the nlu package (Chinese), in one place."""

TRAIN_COMMAND = "crmbot nlu train"

MODEL_MISSING = "NLU 模型文件不存在：{path}"
MODEL_UNREADABLE = "NLU 模型文件无法读取（可能是旧格式或文件损坏）：{path}（{detail}）"
MODEL_STALE = "NLU 模型已过期：{path}（{reason}）"
STALE_FORMAT = "模型文件格式 {old} → {new}"
STALE_FEATURES = "特征版本 {old} → {new}"
STALE_DATA = "训练数据已修改"
STALE_LIBRARY = "{name} 版本 {old} → {new}"
RUN_TRAIN = "请先运行 `" + TRAIN_COMMAND + "` 训练模型，再启动。"
TRAINING = "{problem}，正在重新训练……"
TRAINED = "NLU 模型训练完成：{n} 条样例，CPU {cpu:.1f} 秒，用时 {wall:.1f} 秒 -> {path}"
