"""The demo city's SYNTHETIC resource catalogue: 34 entries of 16 departments, every sharing and
open type, sensor resources for the Smart Data Models types and table resources with rows.

Nothing here is real: names are made up, rows are drawn from a fixed seed; all say 合成/synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import yaml

from cityloop.datahub.catalogue import (
    OpenType,
    ResourceClass,
    ResourceEntry,
    ResourceField,
    SharingType,
    UpdateFrequency,
)

CATALOGUE_SEED = 20260315
SYNTHETIC = "合成演示数据 SYNTHETIC demo"
LICENCE = "CC-BY-4.0"
DEMO_ROWS = 40  # rows of each demo table resource
PLAN_FILE = "catalogue.yaml"
# The information items of each kind of demo table: name, 中文名称, English label, type.
FIELDS = {
    "sites": (
        ("site_id", "机构编号", "Site id", "string"),
        ("name", "名称", "Name", "string"),
        ("district", "所在区", "District", "string"),
        ("capacity", "规模", "Capacity", "integer"),
        ("location", "位置", "Location", "geometry"),
    ),
    "stops": (
        ("stop_id", "站点编号", "Stop id", "string"),
        ("name", "站点名称", "Stop name", "string"),
        ("lines", "途经线路数", "Lines", "integer"),
        ("sheltered", "有候车亭", "Sheltered", "boolean"),
        ("location", "位置", "Location", "geometry"),
    ),
    "cases": (
        ("case_id", "案件编号", "Case id", "string"),
        ("category", "类别", "Category", "string"),
        ("reported_at", "上报时间", "Reported", "datetime"),
        ("closed", "已结案", "Closed", "boolean"),
    ),
    "stats": (
        ("period", "统计期", "Period", "date"),
        ("item", "指标", "Item", "string"),
        ("value", "数值", "Value", "number"),
    ),
    "": (
        ("record_id", "记录编号", "Record id", "string"),
        ("updated", "更新日期", "Updated", "date"),
        ("description", "说明", "Description", "string"),
    ),
}
NOT_SHARED_REASON = "涉及个人信息，依据《个人信息保护法》不予共享（合成示例）"
SHARING_CONDITION = "仅用于法定职责内的业务办理，经提供部门审核（合成示例）"
OPEN_CONDITION = "注册实名账号并签署数据使用协议（合成示例）"


@dataclass(frozen=True)
class DemoCatalogue:
    """The demo entries, the rows of its table resources (by code) and the codes published."""

    entries: tuple[ResourceEntry, ...]
    rows: dict[str, list[dict[str, Any]]]
    published: frozenset[str]


def demo_plan() -> list[dict[str, str]]:
    """The demo entries as ``catalogue.yaml`` lists them (department, names, types, …)."""
    text = resources.files("cityloop.demo").joinpath(PLAN_FILE).read_text("utf-8")
    return [{str(k): str(v) for k, v in item.items()} for item in yaml.safe_load(text)]


def demo_catalogue(seed: int = CATALOGUE_SEED) -> DemoCatalogue:
    """The SYNTHETIC catalogue; the same seed gives the same entries and rows."""
    rng = np.random.default_rng(seed)
    plan = demo_plan()
    digits = {d: k for k, d in enumerate(dict.fromkeys(p["department"] for p in plan), start=1)}
    entries = [_entry(k, item, digits[item["department"]]) for k, item in enumerate(plan, 1)]
    rows = {e.code: _rows(rng, item["rows"]) for e, item in zip(entries, plan, strict=True)
            if "rows" in item}  # fmt: skip
    # Every fifth entry stays a draft, so the demo shows the 编目 → 发布 workflow.
    published = frozenset(e.code for k, e in enumerate(entries) if k % 5 != 4)
    return DemoCatalogue(tuple(entries), rows, published)


def _entry(k: int, item: dict[str, str], department_digit: int) -> ResourceEntry:
    entity = item.get("entity_type")
    sharing, open_type = SharingType(item["sharing"]), OpenType(item["open"])
    shared = sharing != SharingType.NONE
    # 主题类 (2) for the city-wide sensor themes, 部门类 (3) for a department's own tables.
    digit, classification = (
        ("2", ResourceClass.THEME) if entity else ("3", ResourceClass.DEPARTMENT)
    )
    return ResourceEntry(
        code=f"{digit}{department_digit:02d}{k:03d}-{k:06d}",
        department=item["department"],
        name_zh=f"{item['zh']}（合成）",
        name_en=f"{item['en']} (synthetic)",
        description=f"{SYNTHETIC}: {item['zh']}",
        classification=classification,
        fields=() if entity else tuple(ResourceField(*f) for f in FIELDS[item.get("rows", "")]),
        update_frequency=UpdateFrequency(item["frequency"]),
        format="NGSI-LD" if entity else ("XLSX" if k % 3 == 0 else "CSV"),
        sharing_type=sharing,
        sharing_condition=SHARING_CONDITION if sharing == SharingType.CONDITIONAL else "",
        sharing_method=("api" if entity or k % 2 else "download") if shared else "",
        not_shared_reason="" if shared else NOT_SHARED_REASON,
        open_type=open_type,
        open_condition=OPEN_CONDITION if open_type == OpenType.CONDITIONAL else "",
        licence=LICENCE if open_type == OpenType.OPEN else "",
        keywords=("合成数据", item["zh"][:4]),
        entity_type=entity,
        api_url=f"https://data.example.cn/ngsi-ld/v1/entities?type={entity}" if entity else "",
    )


def _rows(rng: np.random.Generator, kind: str) -> list[dict[str, Any]]:
    n = DEMO_ROWS
    lon = np.round(113.2 + rng.random(n) * 0.6, 5)
    lat = np.round(23.0 + rng.random(n) * 0.4, 5)
    district = rng.integers(1, 8, n)
    size = rng.integers(20, 900, n)
    if kind in ("sites", "stops"):
        return [
            {"site_id" if kind == "sites" else "stop_id": f"S{i:04d}",
             "name": f"示例{'机构' if kind == 'sites' else '站'}{i:03d}（合成）",
             **({"district": f"示例区{d}", "capacity": int(c)} if kind == "sites"
                else {"lines": int(c % 9) + 1, "sheltered": bool(c % 2)}),
             "location": f"POINT ({x} {y})"}
            for i, (x, y, d, c) in enumerate(zip(lon, lat, district, size, strict=True), 1)
        ]  # fmt: skip
    if kind == "cases":
        hours = np.sort(rng.integers(0, 24 * 90, n))
        return [
            {"case_id": f"C{i:05d}", "category": ("占道经营", "垃圾暴露", "违章停车")[i % 3],
             "reported_at": f"2025-{1 + h // 720:02d}-{1 + (h // 24) % 28:02d}"
                            f"T{h % 24:02d}:00:00+08:00",
             "closed": bool(rng.random() < 0.85)}
            for i, h in enumerate(hours.tolist(), 1)
        ]  # fmt: skip
    values = np.round(rng.lognormal(3, 0.5, n), 2)
    return [
        {"period": f"{2021 + i // 12}-{1 + i % 12:02d}-01", "item": "合成指标", "value": float(v)}
        for i, v in enumerate(values.tolist())
    ]
