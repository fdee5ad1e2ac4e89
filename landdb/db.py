"""Where the database is: a DSN, a pg_service name, or the embedded cluster."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg2
import psycopg2.extensions

from .embedded import DBNAME, EmbeddedCluster
from .errors import ConfigError

APP_NAME = "landdb"


@dataclass
class Target:
    """A resolved connection target: exactly one of dsn, service or embedded is set."""

    dsn: str | None = None
    service: str | None = None
    embedded: EmbeddedCluster | None = None

    @property
    def is_embedded(self) -> bool:
        return self.embedded is not None

    def describe(self) -> str:
        if self.embedded:
            return f"嵌入式数据库 {self.embedded.home} (embedded)"
        if self.service:
            return f"pg_service {self.service}"
        return _mask_password(self.dsn or "")


def _mask_password(dsn: str) -> str:
    import re

    dsn = re.sub(r"(password\s*=\s*)\S+", r"\1***", dsn)
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", dsn)


def resolve(dsn: str | None = None, service: str | None = None) -> Target:
    """--dsn, then --service, then LANDDB_DSN, then LANDDB_SERVICE; else the embedded cluster."""
    if dsn:
        return Target(dsn=dsn)
    if service:
        return Target(service=service)
    if os.environ.get("LANDDB_DSN"):
        return Target(dsn=os.environ["LANDDB_DSN"])
    if os.environ.get("LANDDB_SERVICE"):
        return Target(service=os.environ["LANDDB_SERVICE"])
    return Target(embedded=EmbeddedCluster())


def connect(target: Target, *, user: str | None = None, autostart: bool = True,
            dbname: str | None = None) -> psycopg2.extensions.connection:
    """Open a connection; the embedded cluster is started (and its database made) on first use."""
    try:
        if target.embedded:
            cluster = target.embedded
            if autostart:
                cluster.start()
                cluster.ensure_database(dbname or DBNAME)
            elif cluster.pid() is None:
                raise ConfigError(
                    "嵌入式数据库未运行；请执行 landdb db start [embedded server is not running]"
                )
            kw = cluster.conninfo(dbname=dbname or DBNAME)
            if user:
                kw["user"] = user
            return psycopg2.connect(application_name=APP_NAME, **kw)
        if target.service:
            kw = {"service": target.service}
            if user:
                kw["user"] = user
            return psycopg2.connect(application_name=APP_NAME, **kw)
        kw = {"user": user} if user else {}
        if dbname:
            kw["dbname"] = dbname
        return psycopg2.connect(target.dsn, application_name=APP_NAME, **kw)
    except psycopg2.OperationalError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
        raise ConfigError(f"无法连接数据库 {target.describe()}：{first} [cannot connect]") from e


@contextmanager
def transaction(conn: psycopg2.extensions.connection) -> Iterator[psycopg2.extensions.cursor]:
    """A cursor inside one transaction: commit on success, roll back on any error."""
    try:
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
