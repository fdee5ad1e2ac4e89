"""What each import KIND is: its table, business key, columns and their types, parents.

A record's fields arrive under canonical names (``landdb.fields``); ``columns`` maps each
canonical name the kind takes to (table column, type). Types: ``text``, ``date``, ``ha`` (an area,
stored in 公顷), ``wan`` (money in 万元), ``num``, ``int``, and enumerations (a tuple of the allowed
values). Canonical names a kind does not take are kept in the row's ``extra`` JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OWNERSHIP = ("国有", "集体")
WITHDRAWAL_KIND = ("撤回", "调整", "核销")
WITHDRAWAL_STATUS = ("申报", "批复")
IDLE_CAUSE = ("政府原因", "企业原因", "不可抗力", "涉法涉诉")
PLAN_STATUS = ("未启动", "处置中", "已销号")
PLAN_CATEGORY = ("批而未供", "闲置土地")
ADMIN_LEVEL = ("省", "市", "县", "乡镇", "村")
LAND_SOURCE = ("新增", "存量")

# Spellings met in practice → the value the database keeps.
ENUM_SYNONYMS = {
    "国有土地": "国有", "国有建设用地": "国有", "全民": "国有", "国": "国有",
    "集体土地": "集体", "集体所有": "集体", "农民集体": "集体", "集": "集体",
    "已批复": "批复", "批准": "批复", "已批准": "批复", "同意": "批复",
    "已申报": "申报", "上报": "申报", "申请": "申报", "报批中": "申报",
    "撤销": "撤回", "收回批文": "撤回",
    "政府": "政府原因", "政府及其有关部门原因": "政府原因",
    "企业": "企业原因", "企业自身原因": "企业原因", "用地者原因": "企业原因",
    "诉讼": "涉法涉诉", "司法查封": "涉法涉诉",
    "已完成": "已销号", "销号": "已销号", "完成": "已销号", "进行中": "处置中", "未开始": "未启动",
    "推进中": "处置中", "正在处置": "处置中", "未处置": "未启动",
    "乡": "乡镇", "镇": "乡镇", "街道": "乡镇",
    "新增建设用地": "新增", "新增用地": "新增", "新增建设": "新增",
    "存量建设用地": "存量", "存量用地": "存量", "存量建设": "存量",
}

# Parents: a canonical field naming another record, resolved to a foreign key in the database.
BATCH = "batch"  # pzwh → approval_batch.id by normalised 批准文号
SUPPLY = "supply"  # dzjgh / contract_no / allocation_no / supply_key → supply.id
PLAN = "plan"  # plan_no → disposal_plan.id
METRICS = ("盘活面积", "供地率", "消化率", "消化面积", "闲置土地处置率")


@dataclass(frozen=True)
class Kind:
    """An import kind."""

    name: str
    table: str
    label: str
    columns: dict[str, tuple[str, object]]
    key: tuple[str, ...]
    geometry: str  # 'required', 'optional' or 'none'
    parent: str | None = None  # BATCH or SUPPLY: the record belongs to that parent
    required: tuple[str, ...] = ()
    defaults: dict[str, str] = field(default_factory=dict)

    @property
    def canonical_fields(self) -> set[str]:
        return set(self.columns)


_SUPPLY_REF = {"dzjgh": ("ref_dzjgh", "text"), "contract_no": ("ref_contract_no", "text"),
               "allocation_no": ("ref_allocation_no", "text")}
_BATCH_REF = {"pzwh": ("ref_pzwh", "text")}

KINDS: dict[str, Kind] = {}


def _kind(k: Kind) -> None:
    KINDS[k.name] = k


_kind(Kind("admin", "admin_area", "行政区", {
    "admin_code": ("admin_code", "text"), "admin_name": ("admin_name", "text"),
    "level": ("level", ADMIN_LEVEL), "parent_code": ("parent_code", "text"),
}, key=("admin_code",), geometry="optional", required=("admin_code", "admin_name"),
    defaults={"level": "乡镇"}))

_kind(Kind("zone", "dev_zone", "开发区", {
    "zone_code": ("zone_code", "text"), "zone_name": ("zone_name", "text"),
    "zone_level": ("zone_level", "text"), "planned_area": ("planned_construction_m2", "m2"),
}, key=("zone_code",), geometry="optional", required=("zone_code", "zone_name")))

# One record = one 地块 of a batch; batches are made from their parcels' 批准文号.
_kind(Kind("approval", "approval_parcel", "建设用地批次（地块）", {
    "pzwh": ("pzwh", "text"), "approval_date": ("approval_date", "date"),
    "authority": ("authority", "text"), "batch_type": ("batch_type", "text"),
    "approved_area": ("approved_area", "ha"), "batch_name": ("batch_name", "text"),
    "township": ("township", "text"), "admin_code": ("admin_code", "text"),
    "parcel_no": ("parcel_no", "text"), "parcel_name": ("parcel_name", "text"),
    "land_use": ("land_use", "text"), "dlbm": ("dlbm", "text"), "sheet_no": ("sheet_no", "text"),
    "land_ownership": ("land_ownership", OWNERSHIP), "area": ("declared_area", "ha"),
}, key=("pzwh", "parcel_no"), geometry="optional", required=("pzwh",)))

_kind(Kind("acquisition", "acquisition", "土地征收", {
    **_BATCH_REF, "announcement_no": ("announcement_no", "text"),
    "acquisition_date": ("acquisition_date", "date"), "acquired_area": ("acquired_area", "ha"),
    "area": ("acquired_area", "ha"), "land_ownership": ("land_ownership", OWNERSHIP),
}, key=("acq_key",), geometry="optional", parent=BATCH, required=("pzwh", "acquisition_date")))

_kind(Kind("supply", "supply", "土地供应", {
    "dzjgh": ("dzjgh", "text"), "contract_no": ("contract_no", "text"),
    "allocation_no": ("allocation_no", "text"), "project_name": ("project_name", "text"),
    "land_user": ("land_user", "text"), "supply_method": ("supply_method", "text"),
    "land_use": ("land_use", "text"), "land_source": ("land_source", LAND_SOURCE),
    "area": ("area", "ha"), "price": ("price", "wan"), "contract_date": ("contract_date", "date"),
    "agreed_handover": ("agreed_handover", "date"), "agreed_start": ("agreed_start", "date"),
    "agreed_completion": ("agreed_completion", "date"), "plot_ratio": ("plot_ratio", "num"),
    "mortgagee": ("mortgagee", "text"), "township": ("township", "text"),
    "village": ("village", "text"), "location": ("location", "text"), "admin_code": ("admin_code", "text"),
    "reclaimed_date": ("reclaimed_date", "date"), "reclaim_doc": ("reclaim_doc", "text"),
}, key=("supply_key",), geometry="optional"))

_kind(Kind("supply_link", "supply_batch", "供地与批次关联", {
    **_SUPPLY_REF, **_BATCH_REF, "area": ("area", "ha"),
}, key=("supply_id", "batch_id"), geometry="none", parent=SUPPLY, required=("pzwh",)))

_kind(Kind("agreement", "supplementary_agreement", "补充协议", {
    **_SUPPLY_REF, "agreement_no": ("agreement_no", "text"),
    "agreement_date": ("agreement_date", "date"), "agreed_start": ("agreed_start", "date"),
    "agreed_completion": ("agreed_completion", "date"), "reason": ("reason", "text"),
    "remark": ("reason", "text"),
}, key=("supply_id", "agreement_no"), geometry="none", parent=SUPPLY,
    required=("agreement_date",)))

_kind(Kind("use", "development", "开发利用进度", {
    **_SUPPLY_REF, "observed_date": ("observed_date", "date"),
    "actual_handover": ("actual_handover", "date"), "actual_start": ("actual_start", "date"),
    "actual_completion": ("actual_completion", "date"),
    "developed_area": ("developed_area", "ha"), "invested": ("invested", "wan"),
    "total_investment": ("total_investment", "wan"),
    "suspended_since": ("suspended_since", "date"), "remark": ("note", "text"),
}, key=("supply_id", "observed_date"), geometry="none", parent=SUPPLY,
    required=("observed_date",)))

_kind(Kind("withdrawal", "withdrawal", "批文撤回调整", {
    **_BATCH_REF, "doc_no": ("doc_no", "text"), "withdrawal_date": ("withdrawal_date", "date"),
    "withdrawal_kind": ("withdrawal_kind", WITHDRAWAL_KIND),
    "withdrawal_status": ("withdrawal_status", WITHDRAWAL_STATUS),
    "area": ("withdrawn_area", "ha"), "withdrawn_area": ("withdrawn_area", "ha"),
}, key=("batch_id", "doc_no"), geometry="optional", parent=BATCH, required=("pzwh", "doc_no")))

_kind(Kind("rs_patch", "rs_patch", "卫片图斑", {
    "patch_no": ("patch_no", "text"), "period": ("period", "text"),
    "change_type": ("change_type", "text"), "detected_date": ("detected_date", "date"),
    "judgement": ("judgement", "text"), "township": ("township", "text"),
}, key=("patch_no", "period"), geometry="required", required=("patch_no",),
    defaults={"period": ""}))

_kind(Kind("survey", "survey_patch", "变更调查地类图斑", {
    "survey_year": ("survey_year", "int"), "patch_no": ("patch_no", "text"),
    "dlbm": ("dlbm", "text"), "dlmc": ("dlmc", "text"),
}, key=("survey_year", "patch_no"), geometry="required",
    required=("survey_year", "patch_no", "dlbm")))

_kind(Kind("idle_case", "idle_case", "闲置土地认定", {
    **_SUPPLY_REF, "case_no": ("case_no", "text"), "notice_date": ("notice_date", "date"),
    "determined_date": ("determined_date", "date"),
    "determination_doc": ("determination_doc", "text"),
    "idle_cause": ("idle_cause", IDLE_CAUSE), "cause_detail": ("cause_detail", "text"),
    "idle_area": ("idle_area", "ha"), "area": ("idle_area", "ha"),
    "decision": ("decision", "text"), "decision_date": ("decision_date", "date"),
    "decision_doc": ("decision_doc", "text"), "fee_amount": ("fee_amount", "wan"),
}, key=("case_no",), geometry="none", parent=SUPPLY))

_kind(Kind("disposal", "disposal_plan", "处置方案", {
    **_SUPPLY_REF, **_BATCH_REF, "plan_no": ("plan_no", "text"),
    "category": ("category", PLAN_CATEGORY), "area": ("plan_area", "ha"),
    "cause": ("cause", "text"), "measure": ("measure", "text"),
    "disposal_method": ("measure", "text"), "responsible_unit": ("responsible_unit", "text"),
    "responsible_person": ("responsible_person", "text"), "township": ("township", "text"),
    "deadline": ("deadline", "date"), "status": ("status", PLAN_STATUS),
    "closed_date": ("closed_date", "date"), "disposed_area": ("disposed_area", "ha"),
    "remark": ("note", "text"), "case_no": ("ref_case_no", "text"),
}, key=("plan_no",), geometry="optional", required=("plan_no", "category")))


_kind(Kind("disposal_action", "disposal_action", "处置进展", {
    "plan_no": ("ref_plan_no", "text"), "action_date": ("action_date", "date"), "action": ("action", "text"),
    "doc_no": ("doc_no", "text"), "area": ("area", "ha"), "actor": ("actor", "text"), "remark": ("note", "text"),
}, key=("plan_id", "action_date", "action"), geometry="none", parent=PLAN,
    required=("plan_no", "action_date", "action")))

# Targets arrive wide (one row, several metrics) and in several sheets; the importer reshapes them
# to one record per metric (see engine.Importer._target_records) under these canonical names.
_kind(Kind("target", "task_target", "任务目标", {
    "target_code": ("target_code", "text"), "target_name": ("target_name", "text"),
    "metric": ("metric", METRICS), "target_value": ("target_value", "num"), "unit": ("unit", "text"),
    "cohort_from": ("cohort_from", "date"), "cohort_to": ("cohort_to", "date"),
    "admin_code": ("admin_code", "text"), "zone_code": ("zone_code", "text"),
    "baseline_date": ("baseline_date", "date"), "due_date": ("due_date", "date"),
    "schedule": ("schedule", "json"), "source_doc": ("source_doc", "text"), "remark": ("note", "text"),
}, key=("target_code",), geometry="none", defaults={"schedule": "[]"},
    required=("target_code", "target_name", "metric", "target_value", "baseline_date", "due_date")))


def get(name: str) -> Kind:
    from ..errors import LanddbError

    try:
        return KINDS[name]
    except KeyError:
        raise LanddbError(
            f"未知数据类别 {name}（可选：{', '.join(KINDS)}） [unknown kind]"
        ) from None
