"""Shared fixtures: a real embedded PostgreSQL + PostGIS cluster and a scratch database.

One cluster per test session, in a fresh LANDDB_HOME under /tmp (the server runs as the
``postgres`` system user when the tests run as root, so the folder must be reachable by it).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from landdb import migrate
from landdb.embedded import EmbeddedCluster

REPO = Path(__file__).resolve().parent.parent


def make_home(prefix: str) -> Path:
    """A LANDDB_HOME the server's system user can reach (short, for the socket path)."""
    home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(home, 0o755)
    return home


@pytest.fixture(scope="session")
def cluster() -> Iterator[EmbeddedCluster]:
    home = make_home("ldt-")
    c = EmbeddedCluster(home=home)
    c.start()
    yield c
    c.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def dbname(cluster: EmbeddedCluster) -> str:
    """A scratch database for this test session, with the schema installed."""
    name = f"landdb_test_{uuid.uuid4().hex[:8]}"
    cluster.ensure_database(name)
    conn = psycopg2.connect(**cluster.conninfo(dbname=name))
    try:
        migrate.upgrade(conn)
    finally:
        conn.close()
    return name


@pytest.fixture
def connect(cluster: EmbeddedCluster, dbname: str):
    """connect(user=None) → a new connection to the scratch database (closed after the test)."""
    opened: list = []

    def _connect(user: str | None = None, autocommit: bool = False):
        kw = cluster.conninfo(dbname=dbname)
        if user:
            kw["user"] = user
        conn = psycopg2.connect(**kw)
        conn.autocommit = autocommit
        opened.append(conn)
        return conn

    yield _connect
    for c in opened:
        c.close()


@pytest.fixture
def conn(connect):
    """A superuser connection to the scratch database."""
    return connect()


@pytest.fixture
def dsn(cluster: EmbeddedCluster, dbname: str) -> str:
    """The scratch database as a libpq DSN, for --dsn."""
    ci = cluster.conninfo(dbname=dbname)
    return f"host={ci['host']} port={ci['port']} dbname={ci['dbname']} user={ci['user']}"


def new_database(cluster, name: str):
    """A database of that name, made anew with the landdb schema; returns a connection to it."""
    admin = psycopg2.connect(**cluster.conninfo(dbname="postgres"))
    admin.autocommit = True
    admin.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
    admin.cursor().execute(f"CREATE DATABASE {name}")
    admin.close()
    conn = psycopg2.connect(**cluster.conninfo(dbname=name))
    migrate.upgrade(conn)
    return conn


@pytest.fixture(scope="session")
def sample_target(cluster):
    """A database of its own with the committed sample county imported (first-import results too)."""
    from landdb import db
    from landdb.demo import load_sample

    name = "landdb_sample_test"
    new_database(cluster, name).close()
    ci = cluster.conninfo(dbname=name)
    target = db.Target(dsn=f"host={ci['host']} port={ci['port']} dbname={name} user={ci['user']}")
    first = load_sample(target)
    return target, first
