"""The ``landdb`` command line.

Without --dsn, --service, LANDDB_DSN or LANDDB_SERVICE, landdb uses its embedded cluster
(started on first use). Exit status 0 on success; otherwise a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import LanddbError

EPILOG = """\
连接 (connection): --dsn 'host=... dbname=...' | --service NAME | 环境变量 LANDDB_DSN / LANDDB_SERVICE；
都未给出时使用嵌入式数据库（LANDDB_HOME，默认 ~/.local/share/landdb，root 为 /var/lib/landdb）。
"""


def _common() -> argparse.ArgumentParser:
    """Options accepted before or after the sub-command."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--dsn", default=argparse.SUPPRESS,
                   help="PostgreSQL 连接串 (libpq DSN or URI) [env LANDDB_DSN]")
    p.add_argument("--service", default=argparse.SUPPRESS,
                   help="pg_service.conf 中的服务名 [env LANDDB_SERVICE]")
    return p


def _fmt(p: argparse.ArgumentParser, choices: Sequence[str] = ("table", "json", "csv")) -> None:
    p.add_argument("--format", choices=choices, default=choices[0],
                   help=f"输出格式 (output format), default {choices[0]}")


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="landdb", parents=[common], epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="批而未供和闲置土地 上图入库、以图管地数据库 "
                    "(approved-but-unsupplied and idle land database)",
    )
    parser.add_argument("--version", action="version", version=f"landdb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    db = sub.add_parser("db", parents=[common], help="数据库：启动、停止、状态、升级、授权 (database)")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION")
    dbsub.required = True
    dbsub.add_parser("start", parents=[common], help="启动嵌入式数据库 (start the embedded server)")
    dbsub.add_parser("stop", parents=[common], help="停止嵌入式数据库 (stop the embedded server)")
    st = dbsub.add_parser(
        "status", parents=[common],
        help="数据库状态与结构版本；未运行时退出码 3 (status; exit 3 when not running)")
    _fmt(st)
    up = dbsub.add_parser("upgrade", parents=[common],
                          help="安装或升级数据库结构 (install or upgrade the schema)")
    up.add_argument("--srid", type=int, default=None,
                    help="新建时的工作坐标系 EPSG 代码，默认 4547 (working CRS at creation)")
    gr = dbsub.add_parser(
        "grant", parents=[common],
        help="授予登录角色 viewer/editor/admin 权限 (give a login role a landdb level)")
    gr.add_argument("role", help="登录角色名 (login role)")
    gr.add_argument("level", choices=["viewer", "editor", "admin"], help="权限级别 (level)")
    gr.add_argument("--create", action="store_true",
                    help="角色不存在时创建登录角色 (create the login role if missing)")

    im = sub.add_parser(
        "import", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        help="批量导入 shp、gpkg、geojson、部标 TXT、Excel/CSV (batch import)",
        description="导入一类数据。PATH 可以是文件、文件夹（递归）或 zip 压缩包。\n"
                    "全部成功才写入（--on-error abort，默认）；拒收记录连同原因、文件、行号保存在 "
                    "landdb.import_reject。\n重复导入同一文件不改变任何数据。",
        epilog="KIND: " + "、".join(f"{k}（{v.label}）" for k, v in _kinds().items()))
    im.add_argument("kind", metavar="KIND", choices=list(_kinds()), help="数据类别 (kind of records)")
    im.add_argument("paths", metavar="PATH", nargs="+", type=Path, help="文件、文件夹或 zip")
    im.add_argument("--encoding", default="auto",
                    help="文字编码：auto（.cpg → 严格 UTF-8 → GB18030）或编码名如 GBK [default auto]")
    im.add_argument("--crs", default="auto",
                    help="源坐标系：auto（.prj、文件头或按坐标推断）或 EPSG:N [default auto]")
    im.add_argument("--mapping", type=Path, default=None,
                    help="字段映射文件（CSV：source,canonical 或 JSON） (your own field aliases)")
    im.add_argument("--set", dest="sets", action="append", default=[], metavar="FIELD=VALUE",
                    help="给本次导入的每条记录补一个字段，可重复 (a field the files lack)")
    im.add_argument("--dry-run", action="store_true", help="只检查并报告，不写入 (check only)")
    im.add_argument("--on-error", choices=["abort", "skip"], default="abort",
                    help="有拒收记录时：abort 全部不导入（默认）；skip 导入其余记录")
    _fmt(im, ("text", "json"))

    an = sub.add_parser("analyze", parents=[common],
                        help="按基准日运行全部规则并保存结果 (run every rule as of a date)")
    an.add_argument("--as-of", type=_date, default=None, help="基准日 YYYY-MM-DD，默认今天 (default today)")
    an.add_argument("--full", action="store_true", help="全部重算，不用增量 (recompute everything)")
    _fmt(an, ("table", "json"))
    fl = sub.add_parser("flags", parents=[common], help="问题线索清单 (flags raised by the rules)")
    _run_or_date(fl)
    fl.add_argument("--rule", default=None, help="规则编号，如 idle_not_started (rule id)")
    fl.add_argument("--township", default=None, help="乡镇名称 (township)")
    _fmt(fl, ("table", "csv", "json", "geojson"))
    st = sub.add_parser("stats", parents=[common], help="供地率、批而未供等统计 (figures)")
    _run_or_date(st)
    st.add_argument("--by", choices=["batch", "township", "zone", "cohort", "year", "total"], default="township",
                    help="分组 (group by), default township")
    st.add_argument("--from", dest="date_from", type=_date, default=None,
                    help="--by cohort：批准日期起 (cohort start)")
    st.add_argument("--to", dest="date_to", type=_date, default=None, help="--by cohort：批准日期止 (cohort end)")
    _fmt(st)
    rc = sub.add_parser("reconcile", parents=[common],
                        help="空间与登记供地面积不一致的批次及其供地 (spatial vs recorded)")
    _run_or_date(rc)
    _fmt(rc)

    ru = sub.add_parser("runs", parents=[common],
                        help="已保存的分析运行：列出、留存、删除、清理 (stored analysis runs)",
                        description="不带 ACTION 时列出全部运行 (without ACTION: list the runs)")
    ru_sub = ru.add_subparsers(dest="runs_command", metavar="ACTION")
    rl = ru_sub.add_parser("list", parents=[common], help="列出运行 (list the runs)")
    rl.add_argument("--as-of", type=_date, default=None, help="只列此基准日的运行 (runs of this date only)")
    _fmt(rl)
    rk = ru_sub.add_parser("keep", parents=[common],
                           help="标记留存：不被清理、不可删除，如已据以发布通报 (keep: never pruned nor deleted)")
    rk.add_argument("run_id", type=int, metavar="RUN", help="运行编号 (run id)")
    rk.add_argument("--note", default=None, help="备注，如通报名称 (note, e.g. the bulletin)")
    ru_ = ru_sub.add_parser("unkeep", parents=[common], help="取消留存 (unmark a kept run)")
    ru_.add_argument("run_id", type=int, metavar="RUN", help="运行编号 (run id)")
    rd = ru_sub.add_parser("delete", parents=[common],
                           help="删除运行及其结果（留存的不能删） (delete runs; kept ones are refused)")
    rd.add_argument("run_ids", type=int, nargs="+", metavar="RUN", help="运行编号 (run ids)")
    rp = ru_sub.add_parser("prune", parents=[common],
                           help="清理：删除既非留存、也非该基准日最新的运行 "
                                "(delete the runs neither kept nor the latest of their date)")
    rp.add_argument("--dry-run", action="store_true", help="只列出，不删除 (list only)")
    _fmt(rp)

    sa = sub.add_parser("sample", parents=[common],
                        help="生成虚构样例县数据 (write the fictitious sample county)")
    sa.add_argument("--out", type=Path, required=True, help="输出目录 (output folder)")
    sa.add_argument("--seed", type=int, default=1, help="随机种子 (seed), default 1")
    sa.add_argument("--batches", type=int, default=None,
                    help="批次数；200000 生成基准测试县 (number of batches)")

    sub.add_parser("demo", parents=[common],
                   help="演示：启动嵌入式数据库、建库、导入样例县 (the demo on the embedded database)")
    return parser


def _run_or_date(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--as-of", type=_date, default=None, help="基准日，默认今天；无结果时先分析")
    g.add_argument("--run", dest="run_id", type=int, default=None, metavar="RUN",
                   help="读取已保存的某次分析运行（见 landdb runs） (a stored run, by id)")


def _date(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期应为 YYYY-MM-DD：{text}") from None


def _kinds() -> dict:
    from .ingest.kinds import KINDS

    return KINDS


def _target(args: argparse.Namespace):
    from . import db

    return db.resolve(getattr(args, "dsn", None), getattr(args, "service", None))


def cmd_db(args: argparse.Namespace) -> int:
    from . import db, migrate, output

    target = _target(args)
    action = args.db_command
    if action in ("start", "stop"):
        if not target.is_embedded:
            raise LanddbError(
                f"已配置外部数据库 {target.describe()}，{action} 只用于嵌入式数据库 "
                "[start/stop apply to the embedded cluster only]")
        cluster = target.embedded
        if action == "start":
            started = cluster.start()
            cluster.ensure_database()
            print(("已启动" if started else "已在运行") + f"：嵌入式数据库 {cluster.home} "
                  f"(socket {cluster.socket_dir}, pid {cluster.pid()})")
        else:
            stopped = cluster.stop()
            print(("已停止" if stopped else "未在运行") + f"：嵌入式数据库 {cluster.home}")
        return 0
    if action == "status":
        info: dict = {"target": target.describe()}
        if target.is_embedded:
            st = target.embedded.status()
            info.update(home=str(st.home), initialized=st.initialized, running=st.running,
                        pid=st.pid, socket=str(target.embedded.socket_dir))
            if not st.running:
                output.print_mapping(info, args.format, STATUS_LABELS)
                return 3
        conn = db.connect(target, autostart=False)
        try:
            info.update(migrate.status(conn))
        finally:
            conn.close()
        output.print_mapping(info, args.format, STATUS_LABELS)
        return 0
    conn = db.connect(target)
    try:
        if action == "upgrade":
            rep = migrate.upgrade(conn, srid=args.srid)
            if rep.applied:
                print(f"已应用迁移 (applied): {', '.join(rep.applied)}")
            if rep.rules_refreshed:
                print("已重建规则函数与视图 (rules and views re-created)")
            state = "已是最新，无变化 (up to date)" if not rep.changed else "升级完成 (upgraded)"
            print(f"{state}：结构版本 {rep.version}，工作坐标系 EPSG:{rep.srid}")
        elif action == "grant":
            migrate.grant(conn, args.role, args.level, create=args.create)
            print(f"已授予 {args.role} 角色 landdb_{args.level}")
    finally:
        conn.close()
    return 0


STATUS_LABELS = {
    "target": "数据库", "home": "数据目录", "initialized": "已初始化", "running": "运行中",
    "pid": "进程号", "socket": "套接字目录", "server": "PostgreSQL", "database": "数据库名",
    "user": "用户", "postgis": "PostGIS", "schema_version": "结构版本",
    "latest_version": "程序最新结构版本", "up_to_date": "结构已最新", "srid": "工作坐标系 EPSG",
    "tables": "表数",
}


def cmd_sample(args: argparse.Namespace) -> int:
    from .sample import generate

    manifest = generate(args.out, seed=args.seed, batches=args.batches,
                        progress=sys.stderr.isatty())
    counts = manifest.get("counts", {})
    print(f"已生成样例县数据 {args.out}：" + "，".join(f"{k} {v}" for k, v in counts.items()))
    print(f"答案清单 (manifest): {args.out / 'manifest.json'}，"
          f"预置案例 {len(manifest.get('cases', []))} 个")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from . import db, migrate, output
    from .demo import SAMPLE, load_sample, sample_as_of

    target = _target(args)
    if not target.is_embedded:
        raise LanddbError("演示只在嵌入式数据库上运行；请去掉 --dsn/--service [demo runs embedded]")
    conn = db.connect(target)
    try:
        rep = migrate.upgrade(conn)
    finally:
        conn.close()
    print(f"嵌入式数据库就绪：{target.embedded.home}；结构版本 {rep.version}，工作坐标系 EPSG:{rep.srid}")
    print(f"导入样例县 {SAMPLE} ……")
    rows = []
    for rel, kind, res in load_sample(target, progress=sys.stderr.isatty()):
        rows.append({"数据": rel, "类别": kind, "状态": STATUS_WORDS.get(res.status, res.status), "读取": res.n_read,
                     "新增": res.n_inserted, "更新": res.n_updated, "未变": res.n_unchanged, "拒收": res.n_rejected})
        if res.status not in ("loaded", "unchanged"):
            output.print_rows(rows)
            print_import_report(res)
            raise LanddbError(f"样例数据 {rel} 导入失败 [sample import failed]")
    output.print_rows(rows)
    from . import analysis

    as_of = sample_as_of()
    conn = db.connect(target)
    try:
        res = analysis.analyze(conn, as_of)
        print(f"\n按样例县基准日 {as_of} 分析：")
        print_analysis(res, output.print_mapping, output.print_rows,
                       {r["rule"]: r for r in analysis.rules(conn)})
        print()
        output.print_mapping(migrate.status(conn), "table", STATUS_LABELS)
    finally:
        conn.close()
    print("下一步：landdb db status；在 QGIS 中用插件 qgis_plugin/landdb_qgis 加载图层；"
          f"psql -h {target.embedded.socket_dir} -U landdb landdb")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .ingest import run_import
    from .output import to_json

    sets = {}
    for item in args.sets:
        if "=" not in item:
            raise LanddbError(f"--set 应写成 字段=值，而不是 {item} [--set FIELD=VALUE]")
        k, v = item.split("=", 1)
        sets[k.strip()] = v.strip()
    res = run_import(_target(args), args.kind, args.paths, encoding=args.encoding, crs=args.crs,
                     mapping=args.mapping, sets=sets, dry_run=args.dry_run, on_error=args.on_error,
                     progress=sys.stderr.isatty() and args.format == "text")
    if args.format == "json":
        print(to_json(res.to_dict()))
    else:
        print_import_report(res)
    return 0 if res.status in ("loaded", "unchanged", "dry_run") else 2


STATUS_WORDS = {"loaded": "已导入", "unchanged": "无变化（数据与库中一致）", "aborted": "已放弃，未导入任何数据",
                "dry_run": "试运行，未写入", "failed": "失败"}


def print_import_report(res) -> None:
    print(f"导入批次 {res.run_id}（{res.kind}）：{STATUS_WORDS.get(res.status, res.status)}")
    for f in res.files:
        bits = [f"{f.rows_read} 行"]
        if f.rows_rejected:
            bits.append(f"拒收 {f.rows_rejected}")
        if f.encoding:
            bits.append(f"编码 {f.encoding}")
        if f.crs:
            bits.append(f"坐标系 {f.crs}")
        print(f"  {f.file}：{'，'.join(bits)}")
        for note in ([f.encoding_note] if f.encoding_note else []) + ([f.crs_note] if f.crs_note else []) + f.notes:
            print(f"    - {note}")
    print(f"读取 {res.n_read}，新增 {res.n_inserted}，更新 {res.n_updated}，未变 {res.n_unchanged}，"
          f"拒收 {res.n_rejected}（{res.seconds:.1f} 秒）")
    for note in res.notes:
        print(f"  * {note}")
    if res.rejects:
        print("拒收记录 (rejected):")
        for p in res.rejects[:50]:
            where = f"第 {p.row} 行" if p.row else "整个文件"
            print(f"  {p.file} {where}" + (f" [{p.field}]" if p.field else "") + f"：{p.reason}")
        if len(res.rejects) > 50:
            print(f"  …… 共 {len(res.rejects)} 条，全部见 landdb.import_reject（run_id = {res.run_id}）")


def _as_of(args: argparse.Namespace):
    """--as-of, default today; None when a stored run is asked for by --run."""
    import datetime as dt

    if getattr(args, "run_id", None) is not None:
        return args.as_of
    return args.as_of or dt.date.today()


def _with_conn(args: argparse.Namespace, fn):
    from . import db, migrate

    target = _target(args)
    conn = db.connect(target)
    try:
        if target.is_embedded:
            migrate.upgrade(conn)
        else:
            migrate.require_current(conn)
        return fn(conn)
    finally:
        conn.close()


def cmd_analyze(args: argparse.Namespace) -> int:
    from . import analysis
    from .output import print_mapping, print_rows, to_json

    def run(conn):
        return analysis.analyze(conn, _as_of(args), full=args.full), {r["rule"]: r for r in analysis.rules(conn)}

    res, catalog = _with_conn(args, run)
    if args.format == "json":
        print(to_json(res))
        return 0
    print_analysis(res, print_mapping, print_rows, catalog)
    return 0


FIGURE_LABELS = {
    "batches": "批次数", "pieces": "批而未供图斑数", "approved_m2": "批准面积（平方米）",
    "supplied_m2": "已供面积（平方米，空间叠加）", "withdrawn_m2": "撤回调整面积（平方米）",
    "unsupplied_m2": "批而未供面积（平方米）", "unsupplied_mu": "批而未供面积（亩）",
    "unacquired_m2": "其中批而未征（平方米）", "acquired_unsupplied_m2": "其中征而未供（平方米）",
    "supply_rate": "供地率（空间）", "recorded_supplied_m2": "已供面积（平方米，登记）",
    "recorded_supply_rate": "供地率（登记）", "five_year_rate": "近五年供地率（增存挂钩）",
    "five_year_threshold": "近五年供地率阈值", "five_year_below_threshold": "低于阈值（暂停新增报批）",
}


def print_analysis(res: dict, print_mapping, print_rows, catalog: dict | None = None) -> None:
    mode = {"full": "全量", "incremental": "增量"}.get(res.get("mode"), res.get("mode"))
    print(f"分析运行 {res.get('run_id')}（基准日 {res.get('as_of')}，{mode}，{res.get('seconds') or 0:.1f} 秒）")
    figures = {k: v for k, v in (res.get("figures") or {}).items() if v is not None}
    if figures:
        def shown(k: str, v):
            if isinstance(v, bool):
                return "是" if v else "否"
            return f"{v:.1%}" if k.endswith(("_rate", "_threshold")) else v

        print_mapping({FIGURE_LABELS.get(k, k): shown(k, v) for k, v in figures.items()})
    counts = res.get("flag_counts") or {}
    if counts:
        print("问题线索 (flags):")
        catalog = catalog or {}
        print_rows([{"规则": k, "名称": catalog.get(k, {}).get("label", ""),
                     "严重程度": catalog.get(k, {}).get("severity", ""), "条数": v}
                    for k, v in sorted(counts.items(), key=lambda kv: list(catalog).index(kv[0])
                                       if kv[0] in catalog else 99)])


def cmd_flags(args: argparse.Namespace) -> int:
    from . import analysis
    from .output import print_rows, to_json

    rows = _with_conn(args, lambda c: analysis.flags(c, _as_of(args), rule=args.rule, township=args.township,
                                                     run_id=args.run_id))
    if args.format == "geojson":
        feats = [{"type": "Feature", "geometry": r.get("geometry"),
                  "properties": {k: v for k, v in r.items() if k != "geometry"}} for r in rows]
        print(to_json({"type": "FeatureCollection", "features": feats}))
    elif args.format == "json":
        print(to_json([{k: v for k, v in r.items() if k != "geometry"} for r in rows]))
    else:
        cols = ["rule", "subject", "severity", "area_m2", "township", "message"]
        print_rows(rows, args.format, columns=cols)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from . import analysis
    from .output import print_rows

    kw = {}
    if args.by == "cohort":
        kw["cohorts"] = [(args.date_from, args.date_to)] if args.date_from or args.date_to else None
    rows = _with_conn(args, lambda c: analysis.stats(c, _as_of(args), by=args.by, run_id=args.run_id, **kw))
    print_rows(rows, args.format)
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from . import analysis
    from .output import print_rows

    rows = _with_conn(args, lambda c: analysis.reconcile(c, _as_of(args), run_id=args.run_id))
    print_rows(rows, args.format)
    return 0


RUN_COLUMNS = ["id", "as_of", "mode", "finished_at", "seconds", "batches", "flags", "unsupplied_m2", "supply_rate",
               "latest_of_date", "shown", "kept", "note"]


def _run_cells(r: dict) -> dict:
    """A run as people read it in a table: minutes, 是/否."""
    out = {}
    for k, v in r.items():
        if isinstance(v, bool):
            v = "是" if v else "否"
        elif k.endswith("_at") and v is not None:
            v = v.strftime("%Y-%m-%d %H:%M")
        out[k] = v
    return out


def cmd_runs(args: argparse.Namespace) -> int:
    from . import analysis
    from .output import print_rows

    action = args.runs_command or "list"
    fmt = getattr(args, "format", "table")
    if action == "list":
        rows = _with_conn(args, lambda c: analysis.runs(c, getattr(args, "as_of", None)))
        if fmt == "table" and not rows:
            print("尚无分析运行 (no runs stored)")
        elif fmt == "table":
            print_rows([_run_cells(r) for r in rows], fmt, columns=RUN_COLUMNS)
        else:
            print_rows(rows, fmt, columns=None if fmt == "json" else RUN_COLUMNS)
    elif action in ("keep", "unkeep"):
        r = _with_conn(args, lambda c: analysis.keep_run(c, args.run_id, kept=action == "keep",
                                                         note=getattr(args, "note", None)))
        state = "已标记留存" if r["kept"] else "已取消留存"
        note = f"：{r['note']}" if r["kept"] and r["note"] else ""
        print(f"分析运行 {r['id']}（基准日 {r['as_of']}）{state}{note}")
    elif action == "delete":
        gone = _with_conn(args, lambda c: analysis.delete_runs(c, args.run_ids))
        print(f"已删除分析运行 {', '.join(map(str, gone))} 及其结果 (deleted)")
    else:  # prune
        rows = _with_conn(args, lambda c: analysis.prune_runs(c, dry_run=args.dry_run))
        if fmt != "table":
            print_rows(rows, fmt)
        elif not rows:
            print("没有可清理的运行 (nothing to prune)")
        else:
            print_rows([_run_cells(r) for r in rows], fmt)
            verb = "将删除" if args.dry_run else "已删除"
            print(f"{verb} {len(rows)} 次分析运行（留存的和各基准日最新的保留） "
                  f"({'would delete' if args.dry_run else 'deleted'} {len(rows)} runs)")
    return 0


COMMANDS = {"db": cmd_db, "import": cmd_import, "analyze": cmd_analyze, "flags": cmd_flags, "stats": cmd_stats,
            "reconcile": cmd_reconcile, "runs": cmd_runs, "sample": cmd_sample, "demo": cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    import psycopg2

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except LanddbError as e:
        print(f"landdb: {e}", file=sys.stderr)
        return e.exit_code
    except psycopg2.Error as e:  # refused by the database: permissions, a constraint …
        reason = e.diag.message_primary or str(e).strip().splitlines()[0]
        print(f"landdb: 数据库拒绝执行：{reason} [refused by the database]", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("landdb: 已中断 (interrupted)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
