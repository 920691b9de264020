"""A throwaway PostgreSQL cluster for tests, with an administrator made the way managed services make theirs.

Azure Database for PostgreSQL flexible server gives its administrator membership in
`azure_pg_admin`, RDS gives its master user `rds_superuser`: both may create roles and
databases, neither is a superuser
(https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-create-users,
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Roles.html).
The fixture creates `CREATE ROLE ... LOGIN CREATEROLE CREATEDB` and tests connect as it, over
TLS with SCRAM passwords (the only way `pg_hba.conf` lets anyone in over TCP), never as the
bootstrap superuser, which only sets the cluster up over its Unix socket.

The server is Debian's `postgresql` package (`.ci/run` installs it). Without it the tests
skip, except in CI (`CI=true`), where they fail.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

SERVER_ROOT = Path("/usr/lib/postgresql")


@dataclass(frozen=True)
class RealPostgres:
    version: int
    """Major version of the running server."""
    port: int
    admin: str
    admin_password: str
    socket_dir: Path

    host = "127.0.0.1"

    def env(self, user: str, password: str, database: str = "postgres") -> dict[str, str]:
        """libpq environment connecting as `user` over TCP with TLS and a password."""
        return {"PATH": os.environ["PATH"], "PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": user,
                "PGPASSWORD": password, "PGDATABASE": database, "PGSSLMODE": "require", "PGCONNECT_TIMEOUT": "10"}

    def psql(self, sql: str, user: str, password: str, database: str = "postgres") -> subprocess.CompletedProcess:
        """Run SQL as `user`; the result carries returncode, stdout (unaligned, tuples only) and stderr."""
        return subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                              env=self.env(user, password, database), capture_output=True, text=True, timeout=60)

    def as_admin(self, sql: str, database: str = "postgres") -> str:
        result = self.psql(sql, self.admin, self.admin_password, database)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


def _installed() -> list[tuple[int, Path]]:
    return sorted((int(p.name), p / "bin") for p in SERVER_ROOT.glob("*") if p.name.isdigit() and (p / "bin" / "initdb").exists())


def pytest_report_header(config) -> str:
    """Say which PostgreSQL the real-server tests run on."""
    installed = _installed()
    return f"real PostgreSQL: {installed[-1][0]} ({installed[-1][1]})" if installed else "real PostgreSQL: not installed"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the real PostgreSQL tests (.ci/run installs the postgresql package)")
    pytest.skip(f"{reason} (install Debian's postgresql package, as .ci/run does)")


def _server_bin() -> Path:
    versions = _installed()
    if not versions or shutil.which("psql") is None or shutil.which("pg_dump") is None:
        _unavailable("PostgreSQL server binaries or psql/pg_dump are not installed")
    return versions[-1][1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def real_postgres() -> Iterator[RealPostgres]:
    bindir = _server_bin()
    # initdb and postgres refuse to run as root: as root, run them as the package's `postgres` user.
    runas: list[str] = []
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root and there is no `postgres` user to run the server as")
        runas = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="odoo-platform-pg-"))
    data = base / "data"
    if runas:
        os.chown(base, owner.pw_uid, owner.pw_gid)

    def run(*command: str) -> None:
        result = subprocess.run([*runas, *command], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{' '.join(command)}: {result.stdout}{result.stderr}"

    started = False
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust", "--auth-host=reject",
            "-E", "UTF8", "--locale=C", "--no-sync")
        # TLS with a self-signed pair: the scripts require it (PGSSLMODE=require) as the managed servers do.
        run("openssl", "req", "-new", "-x509", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
            "-newkey", "rsa:2048", "-keyout", str(data / "server.key"), "-out", str(data / "server.crt"))
        os.chmod(data / "server.key", 0o600)
        port = _free_port()
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{base}'\n"
                       "ssl = on\npassword_encryption = 'scram-sha-256'\nfsync = off\nmax_connections = 50\n")
        # Over TCP only TLS with a SCRAM password gets in; the superuser only over the socket.
        (data / "pg_hba.conf").write_text("local all postgres trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60", "start")
        started = True
        admin, password = "odooplatformadmin", secrets.token_urlsafe(24)
        setup = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(base), "-p", str(port), "-U", "postgres", "-d", "postgres",
             "-v", f"admin={admin}", "-v", f"password={password}"],
            input="SELECT format('CREATE ROLE %I LOGIN CREATEROLE CREATEDB PASSWORD %L', :'admin', :'password') \\gexec\n",
            capture_output=True, text=True, timeout=60,
        )
        assert setup.returncode == 0, setup.stderr
        version = subprocess.run(["psql", "-X", "-At", "-h", str(base), "-p", str(port), "-U", "postgres", "-d", "postgres",
                                  "-c", "SHOW server_version_num"], capture_output=True, text=True, check=True).stdout
        yield RealPostgres(version=int(version) // 10000, port=port, admin=admin, admin_password=password, socket_dir=base)
    finally:
        if started:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)
