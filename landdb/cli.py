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
    p.add_argument("--format", choices=choices, default="table",
                   help="输出格式 (output format), default table")


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

    sa = sub.add_parser("sample", parents=[common],
                        help="生成虚构样例县数据 (write the fictitious sample county)")
    sa.add_argument("--out", type=Path, required=True, help="输出目录 (output folder)")
    sa.add_argument("--seed", type=int, default=1, help="随机种子 (seed), default 1")
    sa.add_argument("--batches", type=int, default=None,
                    help="批次数；200000 生成基准测试县 (number of batches)")

    sub.add_parser("demo", parents=[common],
                   help="演示：启动嵌入式数据库、建库 (the demo on the embedded database)")
    return parser


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

    target = _target(args)
    if not target.is_embedded:
        raise LanddbError("演示只在嵌入式数据库上运行；请去掉 --dsn/--service [demo runs embedded]")
    conn = db.connect(target)
    try:
        rep = migrate.upgrade(conn)
        print(f"嵌入式数据库就绪：{target.embedded.home}；结构版本 {rep.version}，"
              f"工作坐标系 EPSG:{rep.srid}")
        output.print_mapping(migrate.status(conn), "table", STATUS_LABELS)
    finally:
        conn.close()
    print("下一步：landdb db status；psql -h " + str(target.embedded.socket_dir)
          + " -U landdb landdb")
    return 0


COMMANDS = {"db": cmd_db, "sample": cmd_sample, "demo": cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except LanddbError as e:
        print(f"landdb: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("landdb: 已中断 (interrupted)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
