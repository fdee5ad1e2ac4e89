"""Server mode: a bureau's own PostgreSQL, reached over TCP with a password by --dsn.

The server is a second, separately started cluster listening on 127.0.0.1 with scram
authentication; a non-superuser DBA with CREATEROLE owns the database, and PostGIS was
created by the superuser, as a bureau's DBA would arrange it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import psycopg2
import pytest

from landdb.embedded import EmbeddedCluster

from .conftest import REPO, make_home

LANDDB = [sys.executable, "-m", "landdb.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    home = make_home("lds-")
    c = EmbeddedCluster(home=home, port=_free_port())
    c.init()
    c._append_conf("listen_addresses = '127.0.0.1'\npassword_encryption = 'scram-sha-256'\n")
    hba = c.data_dir / "pg_hba.conf"
    subprocess.run(c._cmd(["sh", "-c", f"sed -i '1i host all all 127.0.0.1/32 scram-sha-256' {hba}"]),
                   check=True)
    c.start()
    su = psycopg2.connect(**c.conninfo(dbname="postgres"))
    su.autocommit = True
    with su.cursor() as cur:
        cur.execute("CREATE ROLE bureau_dba LOGIN CREATEROLE PASSWORD 'dba-secret'")
        cur.execute("CREATE DATABASE bureau OWNER bureau_dba")
        cur.execute("CREATE DATABASE bare OWNER bureau_dba")
    su.close()
    su = psycopg2.connect(**c.conninfo(dbname="bureau"))
    su.autocommit = True
    su.cursor().execute("CREATE EXTENSION postgis")
    su.close()
    yield c
    c.stop()
    shutil.rmtree(home, ignore_errors=True)


def _dsn(server, db="bureau", user="bureau_dba", password="dba-secret"):
    return f"host=127.0.0.1 port={server.port} dbname={db} user={user} password={password}"


def run(args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANDDB_")}
    env["LANDDB_HOME"] = "/nonexistent/landdb-must-not-be-used"
    env.update(env_extra or {})
    return subprocess.run([*LANDDB, *args], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=180)


def test_upgrade_status_and_roles_on_a_bureau_server(server):
    dsn = _dsn(server)
    r = run(["--dsn", dsn, "db", "upgrade", "--srid", "4546"])
    assert r.returncode == 0, r.stderr
    assert "0001_core" in r.stdout and "EPSG:4546" in r.stdout
    r = run(["db", "upgrade"], {"LANDDB_DSN": dsn})
    assert r.returncode == 0 and "无变化" in r.stdout
    r = run(["db", "status", "--format", "json", "--dsn", dsn])
    st = json.loads(r.stdout)
    assert st["up_to_date"] and st["srid"] == 4546 and st["user"] == "bureau_dba"
    assert "dba-secret" not in r.stdout, "the password is never printed"

    r = run(["--dsn", dsn, "db", "grant", "zhang_san", "editor"])
    assert r.returncode == 1 and "--create" in r.stderr
    r = run(["--dsn", dsn, "db", "grant", "zhang_san", "editor", "--create"])
    assert r.returncode == 0, r.stderr
    r = run(["--dsn", dsn, "db", "grant", "li_si", "viewer", "--create"])
    assert r.returncode == 0, r.stderr
    su = psycopg2.connect(**server.conninfo(dbname="postgres"))
    su.autocommit = True
    su.cursor().execute("ALTER ROLE zhang_san PASSWORD 'z'; ALTER ROLE li_si PASSWORD 'l'")
    su.close()

    zhang = psycopg2.connect(_dsn(server, user="zhang_san", password="z"))
    with zhang.cursor() as cur:
        cur.execute("INSERT INTO landdb.supply (supply_key, dzjgh, land_user) "
                    "VALUES ('4115282022B00002', '4115282022B00002', '丙公司')")
        cur.execute("UPDATE landdb.supply SET land_user = '丁公司' "
                    "WHERE supply_key = '4115282022B00002'")
    zhang.commit()
    zhang.close()
    li = psycopg2.connect(_dsn(server, user="li_si", password="l"))
    with li.cursor() as cur:
        cur.execute("SELECT op, changed_by, old_values ->> 'land_user', new_values ->> 'land_user' "
                    "FROM landdb.history WHERE table_name = 'supply' ORDER BY id")
        assert cur.fetchall() == [("I", "zhang_san", None, None), ("U", "zhang_san", "丙公司", "丁公司")]
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("DELETE FROM landdb.supply")
    li.close()

    # promoting a person replaces their level rather than stacking levels
    r = run(["--dsn", dsn, "db", "grant", "li_si", "editor"])
    assert r.returncode == 0
    su = psycopg2.connect(_dsn(server))
    with su.cursor() as cur:
        cur.execute("SELECT pg_has_role('li_si', 'landdb_editor', 'MEMBER'), "
                    "EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                    "JOIN pg_roles u ON u.oid = m.member "
                    "WHERE r.rolname = 'landdb_viewer' AND u.rolname = 'li_si')")
        assert cur.fetchone() == (True, False)
    su.close()


def test_start_is_for_the_embedded_cluster_only(server):
    r = run(["--dsn", _dsn(server), "db", "start"])
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "嵌入式" in r.stderr


def test_missing_postgis_without_superuser_is_explained(server):
    r = run(["--dsn", _dsn(server, db="bare"), "db", "upgrade"])
    assert r.returncode == 1
    assert "CREATE EXTENSION postgis" in r.stderr
    assert r.stderr.count("\n") == 1


def test_wrong_password_is_one_clear_line(server):
    r = run(["--dsn", _dsn(server, password="wrong"), "db", "status"])
    assert r.returncode == 1
    assert "无法连接数据库" in r.stderr and "wrong" not in r.stderr
    assert r.stderr.count("\n") == 1
