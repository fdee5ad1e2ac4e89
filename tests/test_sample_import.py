"""The committed sample county goes in through landdb import, completely, and only once."""

from __future__ import annotations

import json

from landdb import db
from landdb.demo import SAMPLE, SAMPLE_PLAN, load_sample

TABLES = {"admin_area": "admin_area", "dev_zone": "dev_zone", "approval_batch": "approval_batch",
          "batch_parcel": "approval_parcel", "acquisition": "acquisition", "supply": "supply",
          "supply_batch": "supply_batch", "supplementary_agreement": "supplementary_agreement",
          "use": "development", "withdrawal": "withdrawal", "rs_patch": "rs_patch", "survey_patch": "survey_patch",
          "idle_case": "idle_case", "disposal_plan": "disposal_plan", "disposal_action": "disposal_action"}


def counts(target) -> dict[str, int]:
    conn = db.connect(target)
    try:
        with conn.cursor() as cur:
            out = {}
            for key, table in TABLES.items():
                cur.execute(f"SELECT count(*) FROM landdb.{table}")
                out[key] = cur.fetchone()[0]
            cur.execute("SELECT count(geom) FROM landdb.supply")
            out["supply_geometry"] = cur.fetchone()[0]
            return out
    finally:
        conn.close()


def test_every_dataset_loads_without_rejects(sample_target):
    _target, first = sample_target
    assert len(first) == len(SAMPLE_PLAN)
    for rel, kind, res in first:
        assert res.status == "loaded", (rel, kind, [p.reason for p in res.rejects[:3]])
        assert res.n_rejected == 0, (rel, kind)


def test_counts_match_the_manifest(sample_target):
    target, _ = sample_target
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    have = counts(target)
    for key, n in have.items():
        assert n == manifest["counts"][key], key


def test_chinese_text_and_positions(sample_target):
    target, _ = sample_target
    conn = db.connect(target)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT admin_name FROM landdb.admin_area WHERE level = '乡镇' ORDER BY admin_code")
            names = [r[0] for r in cur.fetchall()]
            cur.execute("SELECT count(*) FROM landdb.supply s JOIN landdb.admin_area a ON a.level = '县' "
                        "AND NOT ST_Within(ST_PointOnSurface(s.geom), a.geom) WHERE s.geom IS NOT NULL")
            outside = cur.fetchone()[0]
    finally:
        conn.close()
    assert len(names) == 8 and all(n.endswith(("镇", "乡", "街道")) for n in names), names
    assert outside == 0, "every supply parcel lies in the county"


def test_importing_the_sample_again_changes_nothing(sample_target):
    target, _ = sample_target
    before = counts(target)
    conn = db.connect(target)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM landdb.history")
        hist = cur.fetchone()[0]
    conn.close()
    again = load_sample(target)
    assert all(res.status == "unchanged" for _, _, res in again), \
        [(rel, res.status, res.n_updated) for rel, _, res in again if res.status != "unchanged"]
    assert counts(target) == before
    conn = db.connect(target)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM landdb.history")
        assert cur.fetchone()[0] == hist
    conn.close()
