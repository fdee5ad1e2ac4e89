"""Shared parts of the benchmarks: a scratch cluster, fresh databases, measured child processes."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from landdb import db, migrate  # noqa: E402
from landdb.embedded import EmbeddedCluster  # noqa: E402

BENCH_HOME = Path(os.environ.get("LANDDB_BENCH_HOME", "/tmp/landdb-bench"))
VENV_BIN = Path(sys.executable).parent


@dataclass
class Measure:
    name: str
    seconds: float
    peak_mib: float
    returncode: int
    stdout: str
    stderr: str


def run_with_peak(name: str, cmd: list[str], env: dict | None = None) -> Measure:
    """Like run_measured, with the child's peak RSS taken from os.wait4."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    import threading

    chunks: dict[str, list[str]] = {"out": [], "err": []}

    def drain(stream, key):
        for line in stream:
            chunks[key].append(line)

    threads = [threading.Thread(target=drain, args=(proc.stdout, "out")),
               threading.Thread(target=drain, args=(proc.stderr, "err"))]
    for t in threads:
        t.start()
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    for t in threads:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measure(name, seconds, usage.ru_maxrss / 1024.0, proc.returncode, "".join(chunks["out"]),
                   "".join(chunks["err"]))


def ensure_county(batches: int) -> Path:
    """The sample county of that size under bench_data/, generated once (landdb sample)."""
    folder = REPO / "bench_data" / f"county{batches}"
    if not (folder / "manifest.json").exists():
        print(f"生成样例县 {batches} 个批次 → {folder}", flush=True)
        r = run_with_peak("sample", [str(VENV_BIN / "landdb"), "sample", "--out", str(folder),
                                     "--batches", str(batches)])
        if r.returncode:
            raise SystemExit(r.stderr)
    return folder


def cluster() -> EmbeddedCluster:
    BENCH_HOME.mkdir(parents=True, exist_ok=True)
    os.chmod(BENCH_HOME, 0o755)
    c = EmbeddedCluster(home=BENCH_HOME)
    c.start()
    return c


def fresh_database(c: EmbeddedCluster, name: str, landdb_schema: bool) -> str:
    """Drop and create a database; with the landdb schema or just PostGIS. Returns its DSN."""
    admin = psycopg2.connect(**c.conninfo(dbname="postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        # as a new embedded cluster has it (an older benchmark cluster may sort text with strcoll)
        cur.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' "
                    "LC_CTYPE 'C.UTF-8'")
        # the previous contender's table is vacuumed and its writes flushed now, not during the next
        # one's timing
        for _ in range(600):
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")
            if not cur.fetchone()[0]:
                break
            time.sleep(0.5)
        cur.execute("CHECKPOINT")
    admin.close()
    conn = psycopg2.connect(**c.conninfo(dbname=name))
    if landdb_schema:
        migrate.upgrade(conn)
    else:
        conn.autocommit = True
        conn.cursor().execute("CREATE EXTENSION postgis")
    conn.close()
    ci = c.conninfo(dbname=name)
    return f"host={ci['host']} port={ci['port']} dbname={name} user={ci['user']}"


def query(dsn: str, sql: str) -> list[tuple]:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.platform()}, {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB"


def machine_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (all cores; /proc/stat, without idle, iowait and
    steal): the difference around a query counts the server's parallel workers, which the client's
    own process time cannot."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def print_table(rows: list[dict], cols: list[str]) -> None:
    from landdb.output import print_rows

    print_rows(rows, "table", columns=cols)


__all__ = ["REPO", "VENV_BIN", "Measure", "cluster", "db", "ensure_county", "fresh_database", "machine",
           "machine_cpu_seconds", "print_table", "query", "run_with_peak"]
