"""The Chinese README.md written beside the sample data."""

from __future__ import annotations

from typing import Any

KIND_ZH = {
    "admin": "行政区", "zone": "开发区", "approval": "批次（批）",
    "acquisition": "征收（征）", "supply": "供地（供）", "supply_link": "供地与批次关联",
    "use": "开发利用（用）", "agreement": "补充协议", "withdrawal": "撤回/调整/核销",
    "rs_patch": "卫片图斑", "survey": "变更调查地类图斑", "idle_case": "闲置土地认定",
    "disposal": "一地一策", "target": "任务目标",
}

CRS_ZH = {
    4547: "EPSG:4547（CGCS2000 3度带 中央经线114°E，不带带号）",
    4526: "EPSG:4526（CGCS2000 3度带 第38带，东坐标带带号 38xxxxxx.xxx）",
    4490: "EPSG:4490（CGCS2000 经纬度）",
}


def _crs(d: dict[str, Any]) -> str:
    if d["format"] in ("XLSX", "CSV"):
        return "—"
    text = CRS_ZH.get(d["epsg"], str(d["epsg"]))
    if d["format"] == "ESRI Shapefile":
        text += "，有 .prj" if d.get("prj") else "，无 .prj（由坐标推断）"
    return text


def _enc(d: dict[str, Any]) -> str:
    if d["format"] != "ESRI Shapefile":
        return d["encoding"]
    cpg = "有 .cpg" if d.get("cpg") else "无 .cpg"
    return f"{d['encoding']}，{cpg}，DBF 第29字节 {d.get('ldid')}"


def _fields(d: dict[str, Any]) -> str:
    names = d.get("fields") or d.get("columns") or []
    return "、".join(names)


def readme_text(m: dict[str, Any]) -> str:
    """README.md content for a manifest (without its file list)."""
    g = m["generator"]
    lines = [
        f"# 样例数据：虚构的{m['county']['name']}",
        "",
        f"本目录由 `landdb sample --out DIR --seed {g['seed']}` 生成（种子相同则逐字节相同）。"
        f"{m['county']['name']}（代码 {m['county']['admin_code']}）是虚构的县，位于东经114.7°、北纬32.3°附近；"
        "所有单位、项目、人名、文号都是虚构的。数据按各科室、各系统实际发来的样子写成：编码、字段名、"
        "括号、日期格式、面积单位、坐标形式各不相同，边界也不完全重合，导入时必须逐一识别。",
        "",
        f"- 基准日期（as_of）：{m['as_of']}；全部预置案例按这一天编写（个别案例注明了自己的 as_of）。",
        f"- 工作坐标系：EPSG:{m['working_epsg']}；带带号的东坐标为 EPSG:{m['prefixed_epsg']}。",
        f"- 批次：{g['planted_batches']} 个预置批次 + {g['background_batches']} 个背景批次。",
        "- `manifest.json` 是答案清单：文件清单（SHA-256）、各类记录数、以及预置案例——每条规则至少"
        "一个必须报出的案例和一个不得报出的近似案例。背景数据也会产生自己的问题，清单只对预置对象下结论。",
        "",
        "## 文件",
        "",
        "| 文件 | 类别（`landdb import` 的 KIND） | 格式 | 编码 | 坐标系 | 记录数 |",
        "|---|---|---|---|---|---|",
    ]
    for d in m["datasets"]:
        kind = f"{KIND_ZH.get(d['kind'], d['kind'])}（`{d['kind']}`）"
        lines.append(f"| `{d['path']}` | {kind} | {d['format']} | {_enc(d)} | {_crs(d)} | "
                     f"{d['records']} |")
    lines += ["", "## 各文件说明与字段", ""]
    for d in m["datasets"]:
        lines.append(f"### `{d['path']}`")
        lines.append("")
        lines.append(d["description"] + "。")
        lines.append("")
        if _fields(d):
            lines.append(f"字段：{_fields(d)}。")
            lines.append("")
        units = d.get("area_unit")
        if units:
            lines.append("面积单位：" + "，".join(f"{k} 为{v}" for k, v in units.items()) + "。")
            lines.append("")
    lines += [
        "## 约定",
        "",
        "- 批准文号在不同文件里写作 〔〕、[]、（）或【】，导入时应归一（清单中一律用 〔〕）。",
        "- 老的和划拨的供地有的没有电子监管号，改以合同编号或划拨决定书编号为键。",
        "- 日期写法：Excel 日期、Excel 序列数、2019-03-05、2019/3/5、2019.03.05、2019年3月5日、"
        "20190305、DBF 日期。",
        "- 面积：部标文件和台账为公顷；划拨宗地 MJ、变更调查 TBMJ、卫片图斑面积为平方米；"
        "处置方案为亩。金额为万元。",
        "- 供地图形与批次边界相差 0.05–0.5 米（不同科室分别数字化），属于容差内的噪声。",
        "- 开发区图层为 UTF-8 并带 .cpg，其字段名 规划建设用地面积 被截断到10字节，"
        "末尾是半个汉字（pyogrio 直接读取会报 UnicodeDecodeError，须按字节处理）。",
        "",
        "## 预置案例",
        "",
        "| 规则 | 案例数 | 必须报出 | 不得报出 |",
        "|---|---|---|---|",
    ]
    for rule in m["rules"]:
        cs = [c for c in m["cases"] if c["rule"] == rule]
        must = sum(rule in c["must_raise"] for c in m["cases"])
        must_not = sum(rule in c["must_not_raise"] for c in m["cases"])
        lines.append(f"| `{rule}` | {len(cs)} | {must} | {must_not} |")
    lines += ["", "每个案例的说明、主体（批准文号/电子监管号/图斑编号/方案编号）和预期数值见 "
              "`manifest.json` 的 `cases`。", ""]
    return "\n".join(lines)
