"""``landdb demo``: the sample county loaded into the embedded database, the way a bureau would."""

from __future__ import annotations

from pathlib import Path

from .ingest import ImportResult, run_import

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"

# (path inside the sample folder, import kind): parents before children.
SAMPLE_PLAN: list[tuple[str, str]] = [
    ("行政区", "admin"),
    ("开发区", "zone"),
    ("批次/批次台账.xlsx", "approval"),
    ("批次/部标坐标", "approval"),
    ("批次/批次地块.shp", "approval"),
    ("批次/撤回调整核销.xlsx", "withdrawal"),
    ("征收", "acquisition"),
    ("供地/供地宗地.shp", "supply"),
    ("供地/划拨宗地.shp", "supply"),
    ("供地/供地台账.xlsx", "supply"),
    ("供地/供地批次关联.xlsx", "supply_link"),
    ("供地/补充协议.xlsx", "agreement"),
    ("供地/开发利用巡查.xlsx", "use"),
    ("卫片", "rs_patch"),
    ("变更调查", "survey"),
    ("闲置土地", "idle_case"),
    ("处置", "disposal"),
    ("处置", "disposal_action"),
    ("任务", "target"),
]


def load_sample(target, folder: Path = SAMPLE, progress: bool = False) -> list[tuple[str, str, ImportResult]]:
    """Import every dataset of a sample county folder in order; stop at the first failure."""
    out = []
    for rel, kind in SAMPLE_PLAN:
        path = folder / rel
        if not path.exists() and path.suffix == ".xlsx":
            path = path.with_suffix(".csv")  # large counties write their ledgers as CSV
        if not path.exists():
            continue
        res = run_import(target, kind, [path], progress=progress)
        out.append((rel, kind, res))
        if res.status not in ("loaded", "unchanged"):
            break
    return out


def sample_as_of(folder: Path = SAMPLE):
    """The date the sample county's answer key is written for (its manifest's as_of)."""
    import datetime as dt
    import json

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return dt.date.fromisoformat(manifest["as_of"])
