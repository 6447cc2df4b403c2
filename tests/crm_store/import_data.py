"""Generated import files: many good rows with known bad rows mixed in (for the import tests and timing)."""

from __future__ import annotations

import csv
from pathlib import Path

HEADER = ["客户名称", "简称", "行业", "地区", "联系人", "手机", "负责人"]


def customer_rows(count: int, *, owner: str = "", existing: str = "华为技术有限公司") -> tuple[list[list], dict[int, str]]:
    """(rows without header, {line: expected reason fragment}). Line 1 is the header, so row i is line i + 2."""
    rows: list[list] = []
    bad: dict[int, str] = {}
    for i in range(count):
        line = i + 2
        name = f"导入测试客户{i:05d}有限公司"
        phone: object = 13800000000 + i  # Excel stores numbers: the importer must read them as text
        row = [name, f"导入{i:05d}", "制造", "上海", f"联系人{i}", phone, owner]
        if i % 997 == 5:
            row[0] = ""
            bad[line] = "缺少名称"
        elif i % 997 == 6:
            row[5] = "12345"
            bad[line] = "格式不对"
        elif i % 997 == 7:
            row[0] = existing
            bad[line] = "与已有的"
        elif i % 997 == 8:
            row[0] = f"导入测试客户{i - 4:05d}有限公司"  # same as a good row four lines above
            row[1] = ""
            bad[line] = f"与第{line - 4}行重复"
        elif i % 997 == 9:
            row[6] = "不存在的人"
            bad[line] = "找不到负责人"
        rows.append(row)
    return rows, bad


def write_xlsx(path: Path, header: list[str], rows: list[list]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def write_csv(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
