"""The sample county's answer key: every planted case raises exactly the flags it must.

`landdb sample` writes, beside the files, a manifest of planted cases — for every rule id at
least one case that must raise it and a near miss that must not. The sample is imported through
`landdb import`, analysed as of each case's date, and each claim is checked.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from landdb import analysis, db
from landdb.demo import SAMPLE
from landdb.fields import normalize_pzwh

MANIFEST = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))


def components(subject: str) -> set[str]:
    """The record keys a flag subject names: pairs 'a | b', remnants 'k1+k2@x,y', 'DLTB:year:no'."""
    out = set()
    for part in subject.split(" | "):
        part = part.split("@", 1)[0]
        part = re.sub(r"^DLTB:\d{4}:", "", part)
        for key in re.split(r"[+,]", part):
            if key.strip():
                out.add(normalize_pzwh(key.strip()))
    return out


@pytest.fixture(scope="module")
def raised(sample_target):
    """as_of → normalised subject key → rules raised."""
    target, _ = sample_target
    conn = db.connect(target)
    out: dict[str, dict[str, set[str]]] = {}
    try:
        for as_of in sorted({c["as_of"] for c in MANIFEST["cases"]}):
            by_key: dict[str, set[str]] = {}
            for f in analysis.flags(conn, dt.date.fromisoformat(as_of)):
                for k in components(f["subject"]):
                    by_key.setdefault(k, set()).add(f["rule"])
            out[as_of] = by_key
    finally:
        conn.close()
    return out


def test_manifest_covers_every_rule():
    rules = {c["rule"] for c in MANIFEST["cases"]}
    assert rules == set(MANIFEST["rules"])
    for rule in MANIFEST["rules"]:
        assert any(rule in c["must_raise"] for c in MANIFEST["cases"]), rule
        assert any(rule in c["must_not_raise"] for c in MANIFEST["cases"]), rule


def test_every_planted_case_raises_exactly_what_it_must(raised):
    wrong = []
    for case in MANIFEST["cases"]:
        got = raised[case["as_of"]].get(normalize_pzwh(case["subject"]), set())
        missing = set(case["must_raise"]) - got
        extra = set(case["must_not_raise"]) & got
        if missing or extra:
            wrong.append(f"{case['id']} {case['subject']} ({case['as_of']}): missing {sorted(missing)}, "
                         f"raised but must not {sorted(extra)} — {case['description']}")
    assert not wrong, "\n".join(wrong)


def test_planted_batch_figures(sample_target):
    """Expected areas of planted batches agree with the stored run within 1 % (digitising noise)."""
    target, _ = sample_target
    conn = db.connect(target)
    wrong = []
    try:
        for case in MANIFEST["cases"]:
            exp = {k: v for k, v in (case.get("expected") or {}).items()
                   if k in ("approved_m2", "unsupplied_m2", "acquired_unsupplied_m2", "unacquired_m2",
                            "supplied_m2")}
            if case["subject_kind"] != "batch" or not exp:
                continue
            run = analysis.get_or_run(conn, dt.date.fromisoformat(case["as_of"]))
            with conn.cursor() as cur:
                cur.execute(f"SELECT {', '.join(exp)} FROM landdb.run_batch_rows(%s) b "
                            f"JOIN landdb.approval_batch a ON a.id = b.batch_id "
                            f"WHERE a.pzwh_key = %s",
                            (run["run_id"], normalize_pzwh(case["subject"])))
                row = cur.fetchone()
            if row is None:
                wrong.append(f"{case['id']}: batch {case['subject']} not in the run")
                continue
            for (k, v), got in zip(exp.items(), row):
                if abs((got or 0) - v) > max(0.01 * v, 1.0):
                    wrong.append(f"{case['id']} {case['subject']} {k}: expected {v}, got {got}")
        conn.rollback()
    finally:
        conn.close()
    assert not wrong, "\n".join(wrong)
