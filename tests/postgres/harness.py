"""PostgreSQL for tests: one throw-away database per test process, a fresh schema per store.

`EDDYDB_TEST_STORE=postgresql://root@localhost/postgres` (an admin URL: the database named there
is only used to CREATE/DROP) makes tests/conftest.py and tests/util.py run every server and
embedded fixture on PostgreSQL: `fresh_store_url()` returns `postgresql://.../eddydb_test_<rand>
?schema=s<n>`. PostgreSQL is started with pg_ctlcluster when it is down; when it stays unreachable
this raises (CI must fail loudly, never skip). The database is dropped at exit (WITH (FORCE)).
Used by tests/conftest.py, tests/util.py and tests/postgres/.
"""
from __future__ import annotations

import atexit
import itertools
import os
import subprocess
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

__all__ = ["ENV", "admin_url", "drop_database", "enabled", "ensure_running", "fresh_store_url", "new_database"]

ENV = "EDDYDB_TEST_STORE"
DEFAULT_ADMIN = "postgresql://root@localhost/postgres"
_db_url: str | None = None
_db_pid: int | None = None
_counter = itertools.count(1)


def enabled() -> bool:
    """True when the suite runs on PostgreSQL (EDDYDB_TEST_STORE set)."""
    return bool(os.environ.get(ENV))


def admin_url() -> str:
    return os.environ.get(ENV) or os.environ.get("EDDYDB_TEST_PG_ADMIN") or DEFAULT_ADMIN


def _try_connect(url: str) -> Exception | None:
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as c:
            c.execute("SELECT 1")
        return None
    except psycopg.Error as e:
        return e


def ensure_running(url: str | None = None) -> None:
    """Connect, starting the local cluster when it is down; raise when PostgreSQL stays unreachable."""
    url = url or admin_url()
    err = _try_connect(url)
    if err is None:
        return
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "start"],
                   capture_output=True, timeout=60, check=False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        err = _try_connect(url)
        if err is None:
            return
        time.sleep(0.2)
    raise RuntimeError(f"PostgreSQL at {url} is unreachable (and pg_ctlcluster could not start it): {err}")


def _with_db(url: str, dbname: str, query: str = "") -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/" + dbname, query, ""))


def new_database(prefix: str = "eddydb_test") -> str:
    """Create a fresh database; returns its URL (no schema)."""
    import psycopg
    from psycopg import sql

    admin = admin_url().split("?")[0]
    ensure_running(admin)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_db(admin, name)


def drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    admin = admin_url().split("?")[0]
    try:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    except psycopg.Error:
        pass


def fresh_store_url(label: str = "s") -> str:
    """A store URL with a new schema in this process's test database (created on first use)."""
    global _db_url, _db_pid
    if _db_url is None or _db_pid != os.getpid():
        _db_url = new_database()
        _db_pid = os.getpid()
        url = _db_url
        pid = _db_pid
        atexit.register(lambda: os.getpid() == pid and drop_database(url))
    return f"{_db_url}?schema={label}{next(_counter)}_{uuid.uuid4().hex[:6]}"
