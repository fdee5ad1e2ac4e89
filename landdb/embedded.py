"""The embedded PostgreSQL + PostGIS cluster: one data directory, a Unix socket only.

With no connection configured, landdb runs its own cluster under ``LANDDB_HOME``
(default ``~/.local/share/landdb``; ``/var/lib/landdb`` for root). PostgreSQL refuses
to run as root, so when landdb runs as root the server runs as the ``postgres`` system
user (``LANDDB_OS_USER`` names another).
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

SUPERUSER = "landdb"
DBNAME = "landdb"
PG_MAJOR_PREFERRED = "15"
MAX_SOCKET_PATH = 107  # sun_path limit on Linux, including ".s.PGSQL.NNNN"


def default_home() -> Path:
    """Where the embedded cluster lives unless ``LANDDB_HOME`` says otherwise."""
    env = os.environ.get("LANDDB_HOME")
    if env:
        return Path(env).expanduser().absolute()
    if os.geteuid() == 0:
        return Path("/var/lib/landdb")
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "landdb"


def find_pg_bin() -> Path:
    """Directory of the PostgreSQL server binaries (``LANDDB_PG_BIN`` overrides)."""
    env = os.environ.get("LANDDB_PG_BIN")
    candidates = [env] if env else []
    candidates.append(f"/usr/lib/postgresql/{PG_MAJOR_PREFERRED}/bin")
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(out.stdout.strip())
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    raise ConfigError(
        "找不到 PostgreSQL 服务器程序 (initdb, pg_ctl)；请安装 postgresql-15 或设置 LANDDB_PG_BIN "
        "[PostgreSQL server binaries not found]"
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Status:
    """What ``landdb db status`` reports about the embedded cluster."""

    home: Path
    initialized: bool
    running: bool
    pid: int | None
    data_version: str | None
    server_version: str


class EmbeddedCluster:
    """A PostgreSQL cluster owned by landdb, reachable only on its Unix socket."""

    def __init__(self, home: Path | None = None, port: int | None = None) -> None:
        self.home = (home or default_home()).absolute()
        self.port = int(port or os.environ.get("LANDDB_PORT", "5432"))
        self.data_dir = self.home / "pgdata"
        self.socket_dir = self.home / "run"
        self.log_file = self.home / "postgres.log"
        self.bin = find_pg_bin()
        self.os_user = self._server_os_user()

    # -- who runs the server -------------------------------------------------
    @staticmethod
    def _server_os_user() -> str | None:
        """None when we run the server as ourselves; else the system user to run it as."""
        if os.geteuid() != 0:
            return None
        name = os.environ.get("LANDDB_OS_USER", "postgres")
        try:
            pwd.getpwnam(name)
        except KeyError as e:
            raise ConfigError(
                f"以 root 运行时需要系统用户 {name} 来运行数据库服务器，但该用户不存在 "
                f"[running as root needs the system user {name!r}; set LANDDB_OS_USER]"
            ) from e
        return name

    def _cmd(self, args: list[str]) -> list[str]:
        if self.os_user:
            return ["runuser", "-u", self.os_user, "--", *args]
        return args

    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            self._cmd(args), capture_output=True, text=True, timeout=timeout, cwd="/"
        )

    # -- facts -----------------------------------------------------------------
    @property
    def server_version(self) -> str:
        out = subprocess.run(
            [str(self.bin / "postgres"), "--version"], capture_output=True, text=True
        ).stdout
        m = re.search(r"(\d+)(?:\.(\d+))?", out)
        return m.group(1) if m else "?"

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def data_version(self) -> str | None:
        try:
            return (self.data_dir / "PG_VERSION").read_text().strip()
        except (FileNotFoundError, PermissionError):
            return None

    def pid(self) -> int | None:
        """The live postmaster's pid, or None (a stale pid file counts as not running)."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
            pid = int(first)
        except (FileNotFoundError, IndexError, ValueError, PermissionError):
            return None
        return pid if _pid_alive(pid) and self._is_postgres(pid) else None

    @staticmethod
    def _is_postgres(pid: int) -> bool:
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            return True  # not Linux or not visible: trust the pid file
        return comm in ("postgres", "postmaster")

    def status(self) -> Status:
        pid = self.pid()
        return Status(
            self.home, self.initialized, pid is not None, pid, self.data_version(),
            self.server_version,
        )

    def conninfo(self, user: str = SUPERUSER, dbname: str = DBNAME) -> dict:
        return {"host": str(self.socket_dir), "port": self.port, "user": user, "dbname": dbname}

    # -- life cycle ----------------------------------------------------------------
    def _prepare_home(self) -> None:
        sock = self.socket_dir / f".s.PGSQL.{self.port}"
        if len(str(sock)) > MAX_SOCKET_PATH:
            raise ConfigError(
                f"LANDDB_HOME 路径太长，套接字路径 {sock} 超过 {MAX_SOCKET_PATH} 字节 "
                "[LANDDB_HOME too long for a Unix socket path]"
            )
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            self.socket_dir.mkdir(exist_ok=True)
        except PermissionError as e:
            raise ConfigError(f"无法创建数据目录 {self.home}：{e} [cannot create LANDDB_HOME]") from e
        if self.os_user:
            pw = pwd.getpwnam(self.os_user)
            for p in (self.home, self.socket_dir):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            os.chmod(self.socket_dir, 0o700)
            probe = self._run(["test", "-w", str(self.home), "-a", "-x", str(self.home)])
            if probe.returncode != 0:
                raise ConfigError(
                    f"系统用户 {self.os_user} 无法进入数据目录 {self.home}（上级目录不可访问）；"
                    f"请把 LANDDB_HOME 设在例如 /var/lib/landdb 下 "
                    f"[{self.os_user} cannot reach {self.home}: a parent directory is not traversable]"
                )
        else:
            os.chmod(self.socket_dir, 0o700)

    def init(self) -> bool:
        """Create the cluster if there is none. Returns True when it was created now."""
        self._prepare_home()
        if self.initialized:
            self._check_version()
            return False
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise ConfigError(
                f"数据目录 {self.data_dir} 不为空，但不是 PostgreSQL 集群 "
                "[data directory exists, is not empty and holds no cluster]"
            )
        res = self._run(
            [
                str(self.bin / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                "--auth-local=trust", "--auth-host=reject", "-E", "UTF8",
                # text sorts by code point, as C.UTF-8 sorts it, but byte-wise: index builds and
                # sorts of text keys compare with memcmp instead of strcoll
                "--locale=C.UTF-8", "--lc-collate=C", "--no-instructions",
            ],
            timeout=300,
        )
        if res.returncode != 0:
            raise ConfigError(
                f"初始化数据库集群失败 [initdb failed]: {(res.stderr or res.stdout).strip()[-500:]}"
            )
        conf = (
            "\n# landdb embedded cluster: Unix socket only\n"
            "listen_addresses = ''\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            "unix_socket_permissions = 0700\n"
            f"port = {self.port}\n"
            "max_connections = 50\n"
            "shared_buffers = '256MB'\n"
            "work_mem = '64MB'\n"
            "maintenance_work_mem = '512MB'\n"
            "max_wal_size = '2GB'\n"
            "synchronous_commit = off\n"
            "timezone = 'Asia/Shanghai'\n"
            "log_timezone = 'Asia/Shanghai'\n"
            "lc_messages = 'C.UTF-8'\n"
        )
        self._append_conf(conf)
        return True

    def _append_conf(self, text: str) -> None:
        conf = self.data_dir / "postgresql.conf"
        if self.os_user:
            res = subprocess.run(
                self._cmd(["sh", "-c", f"cat >> '{conf}'"]), input=text, text=True,
                capture_output=True,
            )
            if res.returncode != 0:
                raise ConfigError(f"无法写入 {conf}: {res.stderr.strip()}")
        else:
            with open(conf, "a", encoding="utf-8") as f:
                f.write(text)

    def _check_version(self) -> None:
        dv = self.data_version()
        sv = self.server_version
        if dv and dv != sv:
            raise ConfigError(
                f"数据目录 {self.data_dir} 属于 PostgreSQL {dv}，但本机服务器程序是 {sv} 版；"
                f"请用 PostgreSQL {dv} 的程序（LANDDB_PG_BIN）或 pg_upgrade 升级 "
                f"[data directory is from PostgreSQL {dv}, binaries are {sv}]"
            )

    def _socket_owner_pid(self) -> int | None:
        """The pid holding our socket's lock file, if another live server holds it."""
        lock = self.socket_dir / f".s.PGSQL.{self.port}.lock"
        try:
            pid = int(lock.read_text().splitlines()[0])
        except (OSError, IndexError, ValueError):
            return None
        return pid if _pid_alive(pid) and self._is_postgres(pid) else None

    def start(self, timeout: int = 60) -> bool:
        """Start the server (creating the cluster first if needed). True if started now."""
        self.init()
        if self.pid() is not None:
            return False
        pidfile = self.data_dir / "postmaster.pid"
        if pidfile.exists():
            # PostgreSQL itself removes a pid file whose process is gone, but a pid reused by
            # another program makes it refuse: say so instead of leaving the user with a log.
            try:
                stale = int(pidfile.read_text().splitlines()[0])
            except (OSError, IndexError, ValueError):
                stale = None
            if stale and _pid_alive(stale) and not self._is_postgres(stale):
                raise ConfigError(
                    f"数据目录中的 postmaster.pid 已过期（进程 {stale} 不是 PostgreSQL）；"
                    f"确认没有服务器在运行后删除 {pidfile} "
                    f"[stale pid file: pid {stale} is not a PostgreSQL server]"
                )
        other = self._socket_owner_pid()
        if other is not None:
            raise ConfigError(
                f"套接字 {self.socket_dir}/.s.PGSQL.{self.port} 已被另一个服务器（进程 {other}）占用；"
                f"停止它或设置 LANDDB_PORT [socket already in use by pid {other}]"
            )
        if self.os_user:
            pw = pwd.getpwnam(self.os_user)
            if not self.log_file.exists():
                self.log_file.touch()
            os.chown(self.log_file, pw.pw_uid, pw.pw_gid)
        res = self._run(
            [
                str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
                "-w", "-t", str(timeout), "start",
            ],
            timeout=timeout + 30,
        )
        if res.returncode != 0 or self.pid() is None:
            tail = self._log_tail()
            raise ConfigError(
                "嵌入式数据库启动失败 [embedded server failed to start]: "
                f"{(res.stderr or res.stdout).strip()[-300:]} {tail}".strip()
            )
        return True

    def _log_tail(self, n: int = 5) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return " | ".join(line for line in lines[-n:] if "ERROR" in line or "FATAL" in line)

    def stop(self, timeout: int = 60) -> bool:
        """Stop the server. True if it was running."""
        if not self.initialized or self.pid() is None:
            return False
        res = self._run(
            [str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w",
             "-t", str(timeout), "stop"],
            timeout=timeout + 30,
        )
        if res.returncode != 0:
            raise ConfigError(f"停止数据库失败 [pg_ctl stop failed]: {res.stderr.strip()}")
        deadline = time.time() + 10
        while self.pid() is not None and time.time() < deadline:
            time.sleep(0.1)
        return True

    def ensure_database(self, dbname: str = DBNAME) -> None:
        """Create the database if it does not exist (the cluster must be running)."""
        import psycopg2

        conn = psycopg2.connect(**self.conninfo(dbname="postgres"))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{dbname}"')
        finally:
            conn.close()
