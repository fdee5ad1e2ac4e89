"""Schema migrations (``schema/``) and the rules re-created on every upgrade (``sql/``).

Each migration ``NNNN_name.sql`` is applied once and recorded with its SHA-256; a changed,
already-applied migration is refused. ``{{srid}}`` in a migration is the database's working
CRS, fixed when the database is created. Objects are created as ``landdb_admin``, so that
role owns the schema and only its members may alter it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from .errors import SchemaError

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "schema"
SQL_DIR = ROOT / "sql"
DEFAULT_SRID = 4547  # CGCS2000 3° GK CM 114°E, the sample county's zone
ROLES = ("landdb_viewer", "landdb_editor", "landdb_admin")
LEVELS = {"viewer": "landdb_viewer", "editor": "landdb_editor", "admin": "landdb_admin"}
_LOCK_KEY = 0x1A2DDB  # advisory lock serialising concurrent upgrades
_NAME = re.compile(r"^(\d{4})_([A-Za-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass
class UpgradeReport:
    applied: list[str] = field(default_factory=list)
    rules_refreshed: bool = False
    srid: int | None = None
    version: int | None = None
    created_extension: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.applied or self.rules_refreshed or self.created_extension)


def migrations(directory: Path | None = None) -> list[Migration]:
    out = []
    for p in sorted((directory or SCHEMA_DIR).glob("*.sql")):
        m = _NAME.match(p.name)
        if not m:
            raise SchemaError(f"迁移文件名不规范：{p.name}（应为 NNNN_name.sql） [bad migration name]")
        out.append(Migration(int(m.group(1)), m.group(2), p))
    versions = [m.version for m in out]
    if len(set(versions)) != len(versions):
        raise SchemaError("迁移版本号重复 [duplicate migration versions]")
    return out


def latest_version() -> int:
    return max(m.version for m in migrations())


def rules_checksum(directory: Path | None = None) -> str:
    h = hashlib.sha256()
    for p in sorted((directory or SQL_DIR).glob("*.sql")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _scalar(cur: psycopg2.extensions.cursor, sql: str, args: tuple = ()) -> object:
    cur.execute(sql, args)
    row = cur.fetchone()
    return row[0] if row else None


def _ensure_postgis(cur: psycopg2.extensions.cursor) -> bool:
    if _scalar(cur, "SELECT 1 FROM pg_extension WHERE extname = 'postgis'"):
        return False
    if not _scalar(cur, "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"):
        raise SchemaError(
            "数据库服务器未安装 PostGIS（Debian: apt-get install postgresql-15-postgis-3） "
            "[PostGIS is not installed on the server]"
        )
    try:
        cur.execute("SAVEPOINT ext; CREATE EXTENSION postgis; RELEASE SAVEPOINT ext")
    except psycopg2.errors.InsufficientPrivilege as e:
        cur.execute("ROLLBACK TO SAVEPOINT ext")
        raise SchemaError(
            "当前用户无权创建 postgis 扩展；请数据库管理员先执行 CREATE EXTENSION postgis; "
            "[no privilege to CREATE EXTENSION postgis]"
        ) from e
    return True


def _ensure_roles(cur: psycopg2.extensions.cursor) -> None:
    """The three group roles, nested viewer ⊂ editor ⊂ admin; the upgrader joins admin."""
    for role in ROLES:
        if not _scalar(cur, "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)):
            try:
                cur.execute("SAVEPOINT r")
                cur.execute(f"CREATE ROLE {role} NOLOGIN")
                cur.execute("RELEASE SAVEPOINT r")
            except psycopg2.errors.InsufficientPrivilege as e:
                cur.execute("ROLLBACK TO SAVEPOINT r")
                raise SchemaError(
                    f"当前用户无权创建角色 {role}；请由具有 CREATEROLE 权限的用户执行 landdb db upgrade "
                    f"[cannot create role {role}]"
                ) from e
    grants = [("landdb_viewer", "landdb_editor"), ("landdb_editor", "landdb_admin")]
    for granted, member in grants:
        if not _scalar(cur, "SELECT pg_has_role(%s, %s, 'MEMBER')", (member, granted)):
            cur.execute(f"GRANT {granted} TO {member}")
    superuser = _scalar(cur, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if not superuser and not _scalar(cur, "SELECT pg_has_role(current_user, 'landdb_admin', 'MEMBER')"):
        try:
            cur.execute("SAVEPOINT g; GRANT landdb_admin TO CURRENT_USER; RELEASE SAVEPOINT g")
        except psycopg2.Error as e:
            cur.execute("ROLLBACK TO SAVEPOINT g")
            raise SchemaError(
                "当前用户不是 landdb_admin 成员，无法升级数据库结构 [upgrading needs landdb_admin]"
            ) from e
    # landdb_admin may hand out the three roles to people (landdb db grant).
    for role in ("landdb_viewer", "landdb_editor"):
        cur.execute(f"GRANT {role} TO landdb_admin WITH ADMIN OPTION")


def _existing_srid(cur: psycopg2.extensions.cursor) -> int | None:
    if not _scalar(cur, "SELECT to_regclass('landdb.db_info') IS NOT NULL"):
        return None
    v = _scalar(cur, "SELECT value FROM landdb.db_info WHERE key = 'srid'")
    return int(v) if v else None


def _check_srid(cur: psycopg2.extensions.cursor, srid: int) -> None:
    cur.execute("SELECT srtext FROM spatial_ref_sys WHERE srid = %s", (srid,))
    row = cur.fetchone()
    if row is None:
        raise SchemaError(f"未知坐标系 EPSG:{srid} [unknown SRID]")
    if not row[0].startswith("PROJCS") or 'UNIT["metre"' not in row[0]:
        raise SchemaError(
            f"工作坐标系必须是以米为单位的投影坐标系（如 CGCS2000 3度带 EPSG:4547），EPSG:{srid} 不是 "
            "[the working CRS must be projected, in metres]"
        )


def applied(cur: psycopg2.extensions.cursor) -> dict[int, tuple[str, str]]:
    """Applied migrations: version → (name, checksum); empty when the schema is absent."""
    if not _scalar(cur, "SELECT to_regclass('landdb.schema_migration') IS NOT NULL"):
        return {}
    cur.execute("SELECT version, name, checksum FROM landdb.schema_migration")
    return {v: (n, c) for v, n, c in cur.fetchall()}


def verify(cur: psycopg2.extensions.cursor) -> list[Migration]:
    """Check applied migrations against the files; return those still to apply."""
    done = applied(cur)
    files = {m.version: m for m in migrations()}
    newer = sorted(set(done) - set(files))
    if newer:
        raise SchemaError(
            f"数据库已应用本程序不认识的迁移 {newer}，请升级 landdb 程序 "
            "[database is newer than this landdb]"
        )
    for v, (name, checksum) in sorted(done.items()):
        if files[v].checksum != checksum:
            raise SchemaError(
                f"已应用的迁移 {v:04d}_{name}.sql 已被修改（校验和不一致），拒绝升级；"
                "已发布的迁移不可修改，请新增迁移 [applied migration was changed]"
            )
    return [m for v, m in sorted(files.items()) if v not in done]


def upgrade(conn: psycopg2.extensions.connection, srid: int | None = None) -> UpgradeReport:
    """Install or upgrade the schema in one transaction. Up to date → changes nothing."""
    report = UpgradeReport()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            report.created_extension = _ensure_postgis(cur)
            _ensure_roles(cur)
            existing = _existing_srid(cur)
            if existing is not None and srid is not None and srid != existing:
                raise SchemaError(
                    f"数据库的工作坐标系已是 EPSG:{existing}，不能改为 EPSG:{srid} "
                    "[working CRS is fixed at creation]"
                )
            report.srid = existing or srid or DEFAULT_SRID
            _check_srid(cur, report.srid)
            if not _scalar(cur, "SELECT 1 FROM pg_namespace WHERE nspname = 'landdb'"):
                cur.execute("CREATE SCHEMA landdb AUTHORIZATION landdb_admin")
                cur.execute("COMMENT ON SCHEMA landdb IS '批而未供和闲置土地数据库 | landdb'")
            cur.execute("SET LOCAL ROLE landdb_admin")
            cur.execute(
                """CREATE TABLE IF NOT EXISTS landdb.schema_migration (
                     version    integer PRIMARY KEY,
                     name       text NOT NULL,
                     checksum   text NOT NULL,
                     applied_at timestamptz NOT NULL DEFAULT now(),
                     applied_by text NOT NULL DEFAULT session_user)"""
            )
            for m in verify(cur):
                cur.execute(m.text.replace("{{srid}}", str(report.srid)))
                cur.execute(
                    "INSERT INTO landdb.schema_migration (version, name, checksum) "
                    "VALUES (%s, %s, %s)", (m.version, m.name, m.checksum),
                )
                report.applied.append(f"{m.version:04d}_{m.name}")
            checksum = rules_checksum()
            current = _scalar(cur, "SELECT value FROM landdb.db_info WHERE key = 'rules_checksum'")
            if report.applied or current != checksum:
                for p in sorted(SQL_DIR.glob("*.sql")):
                    cur.execute(p.read_text(encoding="utf-8"))
                cur.execute(
                    "INSERT INTO landdb.db_info VALUES ('rules_checksum', %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (checksum,),
                )
                report.rules_refreshed = True
            report.version = int(_scalar(cur, "SELECT landdb.schema_version()"))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return report


def status(conn: psycopg2.extensions.connection) -> dict:
    """Schema facts for ``landdb db status``; never changes anything."""
    with conn.cursor() as cur:
        info: dict = {
            "server": _scalar(cur, "SHOW server_version"),
            "database": _scalar(cur, "SELECT current_database()"),
            "user": _scalar(cur, "SELECT session_user"),
            "postgis": _scalar(
                cur, "SELECT extversion FROM pg_extension WHERE extname = 'postgis'"
            ),
            "latest_version": latest_version(),
        }
        done = applied(cur)
        info["schema_version"] = max(done) if done else None
        info["srid"] = _existing_srid(cur)
        info["up_to_date"] = bool(done) and max(done) == info["latest_version"]
        if done:
            cur.execute(
                "SELECT c.relname, c.reltuples::bigint FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'landdb' AND c.relkind = 'r' ORDER BY c.relname"
            )
            info["tables"] = len(cur.fetchall())
        conn.rollback()
    return info


def require_current(conn: psycopg2.extensions.connection) -> None:
    """Refuse to work on a database whose schema is missing or behind this landdb."""
    with conn.cursor() as cur:
        pending = verify(cur)
        conn.rollback()
    if pending:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        raise SchemaError(
            f"数据库结构不是最新（待应用：{names}）；请执行 landdb db upgrade [schema is not up to date]"
        )


def grant(conn: psycopg2.extensions.connection, role: str, level: str,
          create: bool = False) -> None:
    """Give a person's login role exactly one of the landdb group roles."""
    if level not in LEVELS:
        raise SchemaError(f"未知权限级别 {level}（可选 viewer、editor、admin） [unknown level]")
    from psycopg2 import sql

    try:
        with conn.cursor() as cur:
            exists = _scalar(cur, "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            if not exists:
                if not create:
                    raise SchemaError(
                        f"数据库角色 {role} 不存在；加 --create 创建登录角色 [role does not exist]"
                    )
                cur.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
            for other in ROLES:
                if other != LEVELS[level] and _scalar(
                    cur, "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                    "JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = %s AND u.rolname = %s",
                    (other, role),
                ):
                    cur.execute(sql.SQL("REVOKE {} FROM {}").format(
                        sql.Identifier(other), sql.Identifier(role)))
            cur.execute(sql.SQL("GRANT {} TO {}").format(
                sql.Identifier(LEVELS[level]), sql.Identifier(role)))
        conn.commit()
    except psycopg2.errors.InsufficientPrivilege as e:
        conn.rollback()
        raise SchemaError(f"无权授予角色 [not allowed to grant roles]: {e.pgerror or e}") from e
    except BaseException:
        conn.rollback()
        raise
