"""The embedded cluster: starts itself, and fails with a clear message instead of hanging."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys

import pytest

from landdb.embedded import EmbeddedCluster
from landdb.errors import ConfigError

from .conftest import REPO, make_home

LANDDB = [sys.executable, "-m", "landdb.cli"]


@pytest.fixture
def home():
    h = make_home("lde-")
    yield h
    c = EmbeddedCluster(home=h)
    if c.pid():
        c.stop()
    shutil.rmtree(h, ignore_errors=True)


def run(args, home, **kw):
    env = {**os.environ, "LANDDB_HOME": str(home)}
    env.pop("LANDDB_DSN", None)
    return subprocess.run([*LANDDB, *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=180, **kw)


def test_cli_start_status_stop(home):
    r = run(["db", "status"], home)
    assert r.returncode == 3, "status of a stopped cluster exits 3"
    r = run(["db", "start"], home)
    assert r.returncode == 0, r.stderr
    assert "已启动" in r.stdout
    r = run(["db", "start"], home)
    assert "已在运行" in r.stdout
    r = run(["db", "upgrade"], home)
    assert r.returncode == 0, r.stderr
    r = run(["db", "status", "--format", "json"], home)
    st = json.loads(r.stdout)
    assert st["running"] and st["up_to_date"] and st["srid"] == 4547 and st["postgis"]
    # Unix socket only: no TCP listener
    assert (home / "run" / ".s.PGSQL.5432").exists()
    conf = (home / "pgdata" / "postgresql.conf").read_text() if os.geteuid() != 0 else \
        subprocess.run(["cat", str(home / "pgdata" / "postgresql.conf")],
                       capture_output=True, text=True).stdout
    assert "listen_addresses = ''" in conf
    r = run(["db", "stop"], home)
    assert r.returncode == 0 and "已停止" in r.stdout
    r = run(["db", "status"], home)
    assert r.returncode == 3


def test_runs_as_a_normal_user_too(home):
    """As a non-root user the server runs as that user (here: postgres, as a plain user)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to another user")
    pw = pwd.getpwnam("postgres")
    os.chown(home, pw.pw_uid, pw.pw_gid)
    env = {"PATH": os.environ["PATH"], "LANDDB_HOME": str(home), "HOME": "/tmp"}
    cmd = ["runuser", "-u", "postgres", "--", *LANDDB]
    r = subprocess.run([*cmd, "db", "upgrade"], capture_output=True, text=True, env=env,
                       cwd=REPO, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "结构版本" in r.stdout
    r = subprocess.run([*cmd, "db", "stop"], capture_output=True, text=True, env=env, cwd=REPO)
    assert r.returncode == 0, r.stderr


def test_data_directory_of_another_version(home):
    c = EmbeddedCluster(home=home)
    c.start()
    c.stop()
    pgv = home / "pgdata" / "PG_VERSION"
    subprocess.run(c._cmd(["sh", "-c", f"echo 14 > {pgv}"]), check=True)
    r = run(["db", "start"], home)
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1, "one-line reason"
    assert "PostgreSQL 14" in r.stderr and "15" in r.stderr


def test_stale_pid_file_of_a_dead_process_is_recovered(home):
    c = EmbeddedCluster(home=home)
    c.start()
    c.stop()
    dead = 4_000_000  # above pid_max: certainly not running
    pidfile = home / "pgdata" / "postmaster.pid"
    subprocess.run(c._cmd(["sh", "-c", f"printf '{dead}\\n{home}/pgdata\\n' > {pidfile}"]),
                   check=True)
    assert c.pid() is None
    assert c.start() is True


def test_stale_pid_file_naming_another_program(home):
    c = EmbeddedCluster(home=home)
    c.start()
    c.stop()
    pidfile = home / "pgdata" / "postmaster.pid"
    other = os.getpid()  # alive, but python, not postgres
    subprocess.run(c._cmd(["sh", "-c", f"printf '{other}\\n{home}/pgdata\\n' > {pidfile}"]),
                   check=True)
    with pytest.raises(ConfigError, match=r"postmaster\.pid"):
        c.start()


def test_socket_taken_by_another_server(home, cluster):
    """Another live server holding our socket's lock: a clear message, not a hang."""
    c = EmbeddedCluster(home=home)
    c.init()
    lock = c.socket_dir / f".s.PGSQL.{c.port}.lock"
    subprocess.run(c._cmd(["sh", "-c", f"echo {cluster.pid()} > {lock}"]), check=True)
    with pytest.raises(ConfigError, match="已被另一个服务器"):
        c.start()


def test_home_unreachable_for_the_server_user(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root hands the server to another user")
    hidden = tmp_path / "private"  # pytest's tmp dirs are 0700 root
    os.chmod(tmp_path, 0o700)
    with pytest.raises(ConfigError, match="无法进入数据目录"):
        EmbeddedCluster(home=hidden).start()
