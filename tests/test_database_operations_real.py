"""The operations jobs' scripts, run for real against PostgreSQL.

The scripts, their environment and their mounts are read from the `manifests.yaml` that
`odoo-platform plan` writes, never re-typed: each container runs as the Job would run it,
with the Secret values the test creates, each volume a local directory, and the one
difference a managed server does not need, `PGPORT` (the throwaway server listens on a free
port). Only the cloud CLI containers (upload, fetch) do not run: the test plays the archive,
moving the files they would move.

The server is the installed Debian package (PostgreSQL 15 on bookworm; each test names the
version it ran on through the `real_postgres.version` it asserts against the plan). The estate
is planned with that same `postgres.version`, so the client image is the one it would use.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from tests.conftest import ROOT, estate, write_stack
from tests.real_postgres import RealPostgres

# Every test here starts or uses a real PostgreSQL server and runs the jobs' scripts in subprocesses: the
# slow group (`make test-slow`, CI). What the scripts are given stays in `make test`: the jobs' manifests,
# schedules and network policies are asserted on the plan by tests/test_database_operations.py.
pytestmark = pytest.mark.slow

TENANTS = [
    {"name": "acme", "tier": 2, "users": 25, "hostname": "acme.erp.example.com"},
    {"name": "globex", "tier": 3, "users": 8, "hostname": "globex.erp.example.com"},
]


class Pushgateway(http.server.ThreadingHTTPServer):
    """Records what the report containers push (path and body), answering as the Pushgateway does."""

    def __init__(self) -> None:
        self.pushes: list[tuple[str, str]] = []
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                gateway.pushes.append((self.path, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def pushgateway() -> Iterator[Pushgateway]:
    gateway = Pushgateway()
    thread = threading.Thread(target=gateway.serve_forever, daemon=True)
    thread.start()
    yield gateway
    gateway.shutdown()
    gateway.server_close()


@pytest.fixture(scope="module")
def manifests(real_postgres: RealPostgres, tmp_path_factory) -> list[dict[str, Any]]:
    """manifests.yaml of an Azure estate with two tenants on one server of the test server's version."""
    directory = tmp_path_factory.mktemp("plan")
    config = write_stack(directory / "Pulumi.pgtest.yaml",
                         estate(tenants=TENANTS, postgres={"version": real_postgres.version}))
    out = directory / "out"
    result = subprocess.run(
        [sys.executable, "-m", "odoo_platform", "plan", "--stack", "dev", "--config", str(config), "--out", str(out)],
        cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all((out / "manifests.yaml").read_text()) if doc]


def find(manifests: list[dict[str, Any]], kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    matches = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"].startswith(name)
               and (namespace is None or m["metadata"].get("namespace") == namespace)]
    assert len(matches) == 1, f"{kind} {name}: {len(matches)} found"
    return matches[0]


class Pod:
    """One run of a pod template: its emptyDir volumes live as long as this object."""

    def __init__(self, manifests: list[dict[str, Any]], namespace: str, spec: dict[str, Any], root: Path,
                 secrets: dict[str, dict[str, str]], pg: RealPostgres, claims: dict[str, Path] | None = None,
                 overrides: dict[str, str] | None = None) -> None:
        self.spec, self.secrets, self.pg, self.overrides = spec, secrets, pg, overrides or {}
        self.volumes: dict[str, Path] = {}
        for volume in spec["volumes"]:
            path = root / volume["name"]
            if "configMap" in volume:
                data = find(manifests, "ConfigMap", volume["configMap"]["name"], namespace)["data"]
                self._files(path, data)
            elif "secret" in volume:
                self._files(path, self._secret(volume["secret"]["secretName"]))
            elif "persistentVolumeClaim" in volume:
                path = (claims or {})[volume["persistentVolumeClaim"]["claimName"]]
            else:
                assert "emptyDir" in volume, volume
                path.mkdir(parents=True)
            self.volumes[volume["name"]] = path

    def _secret(self, name: str) -> dict[str, str]:
        return self.secrets[name]

    @staticmethod
    def _files(path: Path, data: dict[str, str]) -> None:
        path.mkdir(parents=True)
        for key, value in data.items():
            (path / key).write_text(value)

    def container(self, name: str) -> dict[str, Any]:
        (found,) = [c for c in self.spec.get("initContainers", []) + self.spec["containers"] if c["name"] == name]
        return found

    def run(self, name: str) -> subprocess.CompletedProcess:
        container = self.container(name)
        mounts = {m["mountPath"]: self.volumes[m["name"]] for m in container["volumeMounts"]}
        env = {"PATH": os.environ["PATH"], "PGPORT": str(self.pg.port)}
        for variable in container["env"]:
            if "value" in variable:
                value = variable["value"]
                env[variable["name"]] = str(mounts.get(value, value))
            else:
                ref = variable["valueFrom"]["secretKeyRef"]
                env[variable["name"]] = self._secret(ref["name"])[ref["key"]]
        env.update(self.overrides)
        interpreter, script = container["command"]
        local_script = mounts[os.path.dirname(script)] / os.path.basename(script)
        return subprocess.run([interpreter, str(local_script)], env=env, capture_output=True, text=True, timeout=300)

    def work(self) -> Path:
        return self.volumes["work"]


def cron_pod(cron_job: dict[str, Any]) -> dict[str, Any]:
    return cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]


@pytest.fixture(scope="module")
def secrets(real_postgres: RealPostgres, manifests) -> dict[str, dict[str, str]]:
    """Values for the Secrets the manifests declare (their values are masked in the plan)."""
    values = {
        "pg-admin-shared": {"host": real_postgres.host, "user": real_postgres.admin, "password": real_postgres.admin_password},
        "pg-roles-shared": {t["name"]: f"{t['name']}-initial-password" for t in TENANTS},
    }
    for name, data in values.items():
        assert set(find(manifests, "Secret", name)["stringData"]) == set(data)
    return values


@pytest.fixture(scope="module")
def bootstrapped(real_postgres, manifests, secrets, tmp_path_factory) -> dict[str, Any]:
    """The bootstrap Job, run twice: the second run must change nothing and fail nothing.

    On Azure the database already exists when the Job runs, created through the resource API
    and owned by the administrator (the estate is Azure); on RDS the Job creates it. acme takes
    the first path, globex the second."""
    real_postgres.as_admin("CREATE DATABASE acme ENCODING 'UTF8' TEMPLATE template0")
    job = find(manifests, "Job", "db-bootstrap-shared-", "platform-operations")
    runs = []
    for attempt in range(2):
        pod = Pod(manifests, "platform-operations", job["spec"]["template"]["spec"],
                  tmp_path_factory.mktemp(f"bootstrap{attempt}"), secrets, real_postgres)
        runs.append(pod.run("bootstrap"))
    return {"job": job, "runs": runs}


def tenant_psql(pg: RealPostgres, secrets, tenant: str, sql: str, database: str | None = None):
    return pg.psql(sql, f"odoo_{tenant}", secrets["pg-roles-shared"][tenant], database or tenant)


def test_the_admin_is_not_a_superuser_and_may_not_name_the_superuser_attribute(real_postgres):
    """The constraint the bootstrap must live with, on the installed server (15 on bookworm; 16+ checks the same)."""
    assert real_postgres.version >= 15
    attributes = "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
    assert real_postgres.as_admin(attributes) == "f|t|t"
    real_postgres.as_admin("CREATE ROLE probe_role LOGIN")
    refused = real_postgres.psql("ALTER ROLE probe_role NOSUPERUSER", real_postgres.admin, real_postgres.admin_password)
    real_postgres.as_admin("DROP ROLE probe_role")
    assert refused.returncode != 0 and "must be superuser" in refused.stderr


def test_bootstrap_runs_twice_as_the_managed_admin(real_postgres, manifests, bootstrapped):
    image = bootstrapped["job"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith(f"docker.io/library/postgres:{real_postgres.version}.")  # the client of the server's version
    for run in bootstrapped["runs"]:
        assert run.returncode == 0, run.stderr
    roles = real_postgres.as_admin(
        "SELECT string_agg(format('%s:%s%s%s%s', rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication), ' '"
        " ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'odoo\\_%'")
    assert roles == "odoo_acme:ffff odoo_globex:ffff"


@pytest.mark.parametrize("tenant, other", [("acme", "globex"), ("globex", "acme")])
def test_each_tenant_owns_its_database_and_cannot_connect_to_another(real_postgres, secrets, bootstrapped, tenant, other):
    made = tenant_psql(real_postgres, secrets, tenant,
                       "CREATE TABLE IF NOT EXISTS res_partner (id serial PRIMARY KEY, name text);"
                       "CREATE EXTENSION IF NOT EXISTS pg_trgm;"
                       "CREATE INDEX IF NOT EXISTS res_partner_name_trgm ON res_partner USING gin (name gin_trgm_ops);"
                       f"INSERT INTO res_partner (name) VALUES ('{tenant} partner');"
                       "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().splitlines()[-1] == f"odoo_{tenant}"
    refused = tenant_psql(real_postgres, secrets, tenant, "SELECT 1", database=other)
    assert refused.returncode != 0
    assert f'permission denied for database "{other}"' in refused.stderr
    # The administrator, not a superuser, still dumps it (as the dump job does).
    dump = subprocess.run(["pg_dump", "--schema-only", "--no-owner"], capture_output=True, text=True,
                          env=real_postgres.env(real_postgres.admin, real_postgres.admin_password, tenant))
    assert dump.returncode == 0, dump.stderr
    assert "CREATE TABLE public.res_partner" in dump.stdout and "pg_trgm" in dump.stdout


def _odoo_data(pg: RealPostgres, secrets, tenant: str, filestore: Path) -> None:
    """A database and filestore shaped like Odoo's: active users, attachments stored as <sha1[:2]>/<sha1>."""
    statements = ["CREATE TABLE res_users (id serial PRIMARY KEY, login text NOT NULL, active boolean DEFAULT true)",
                  "CREATE TABLE ir_attachment (id serial PRIMARY KEY, name text, store_fname text, checksum text)",
                  "INSERT INTO res_users (login) VALUES ('admin'), ('accountant')"]
    store = filestore / "filestore" / tenant
    for index in range(3):
        content = f"invoice {index} of {tenant}".encode()
        checksum = hashlib.sha1(content).hexdigest()
        (store / checksum[:2]).mkdir(parents=True, exist_ok=True)
        (store / checksum[:2] / checksum).write_bytes(content)
        statements.append(f"INSERT INTO ir_attachment (name, store_fname, checksum) "
                          f"VALUES ('invoice-{index}.pdf', '{checksum[:2]}/{checksum}', '{checksum}')")
    made = tenant_psql(pg, secrets, tenant, ";".join(statements))
    assert made.returncode == 0, made.stderr


@pytest.fixture(scope="module")
def archive(real_postgres, manifests, secrets, bootstrapped, tmp_path_factory) -> dict[str, Path]:
    """acme's dump (operations namespace) and filestore archive (acme's namespace), as the archive holds them."""
    root = tmp_path_factory.mktemp("acme-backup")
    filestore = root / "filestore-volume"
    _odoo_data(real_postgres, secrets, "acme", filestore)
    archived = root / "archive"
    archived.mkdir()
    dump = Pod(manifests, "platform-operations", cron_pod(find(manifests, "CronJob", "dump-acme", "platform-operations")),
               root / "dump-pod", secrets, real_postgres)
    ran = dump.run("dump")
    assert ran.returncode == 0, ran.stderr
    shutil.copy(dump.work() / dump_artifact(dump), archived / "latest.dump")  # what upload.sh and fetch.sh carry
    files = Pod(manifests, "odoo-acme", cron_pod(find(manifests, "CronJob", "filestore-archive", "odoo-acme")),
                root / "filestore-pod", secrets, real_postgres, claims={"odoo-filestore": filestore})
    assert files.container("archive")["volumeMounts"][-1]["readOnly"] is True
    ran = files.run("archive")
    assert ran.returncode == 0, ran.stderr
    shutil.copy(files.work() / dump_artifact(files), archived / "latest.tar.gz")
    return {"dump": archived / "latest.dump", "filestore": archived / "latest.tar.gz", "volume": filestore}


def dump_artifact(pod: Pod) -> str:
    """The file the pod's upload container sends (its ARTIFACT)."""
    return next(v["value"] for v in pod.container("upload")["env"] if v["name"] == "ARTIFACT")


def _drill(manifests, secrets, pg, root: Path, dump: Path, filestore: Path, pushgateway: Pushgateway):
    pod = Pod(manifests, "platform-operations", cron_pod(find(manifests, "CronJob", "restore-drill-acme", "platform-operations")),
              root, secrets, pg, overrides={"PUSHGATEWAY_URL": pushgateway.url})
    shutil.copy(dump, pod.work() / "latest.dump")  # what fetch.sh downloads
    shutil.copy(filestore, pod.work() / "latest.tar.gz")
    check = pod.run("restore-check")
    assert check.returncode == 0, check.stderr  # it records failure instead of failing the pod
    report = pod.run("report")
    assert pg.as_admin("SELECT count(*) FROM pg_database WHERE datname = 'drill_acme'") == "0"  # cleaned up
    return check, report


def _pushed(pushgateway: Pushgateway) -> dict[str, str]:
    ((path, body),) = pushgateway.pushes
    assert path == "/metrics/job/odoo-restore-drill/tenant/acme"
    return {line.split("{")[0]: line.split()[-1] for line in body.splitlines() if line and not line.startswith("#")}


def test_dump_and_filestore_restore_and_pass_the_drill(real_postgres, manifests, secrets, archive, pushgateway, tmp_path):
    check, report = _drill(manifests, secrets, real_postgres, tmp_path, archive["dump"], archive["filestore"], pushgateway)
    assert report.returncode == 0, report.stderr + check.stderr
    pushed = _pushed(pushgateway)
    assert pushed["odoo_platform_restore_drill_success"] == "1"
    assert int(pushed["odoo_platform_restore_drill_last_success_timestamp_seconds"]) > 0


def test_a_corrupted_dump_fails_the_drill_and_is_reported(real_postgres, manifests, secrets, archive, pushgateway, tmp_path):
    corrupted = tmp_path / "corrupted.dump"
    data = bytearray(archive["dump"].read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = b"\xff" * 64
    corrupted.write_bytes(bytes(data[: len(data) - 16]))
    check, report = _drill(manifests, secrets, real_postgres, tmp_path / "pod", corrupted, archive["filestore"], pushgateway)
    assert "restore drill failed" in check.stderr
    assert report.returncode != 0  # the Job fails too
    assert _pushed(pushgateway) == {"odoo_platform_restore_drill_success": "0"}  # the last success time stays


def test_a_filestore_missing_an_attachment_fails_the_drill(real_postgres, manifests, secrets, archive, pushgateway, tmp_path):
    volume = tmp_path / "volume"
    shutil.copytree(archive["volume"], volume)
    victim = next((volume / "filestore" / "acme").glob("*/*"))
    victim.write_bytes(b"not the invoice")
    broken = tmp_path / "broken.tar.gz"
    subprocess.run(["tar", "-czf", str(broken), "-C", str(volume), "filestore/acme"], check=True)
    check, report = _drill(manifests, secrets, real_postgres, tmp_path / "pod", archive["dump"], broken, pushgateway)
    assert "attachments of the restored database are missing or differ" in check.stderr
    assert report.returncode != 0 and _pushed(pushgateway) == {"odoo_platform_restore_drill_success": "0"}


def test_the_dump_job_reports_the_backup_time(real_postgres, manifests, secrets, bootstrapped, pushgateway, tmp_path):
    pod = Pod(manifests, "platform-operations", cron_pod(find(manifests, "CronJob", "dump-globex", "platform-operations")),
              tmp_path, secrets, real_postgres, overrides={"PUSHGATEWAY_URL": pushgateway.url})
    assert pod.run("dump").returncode == 0
    assert (pod.work() / dump_artifact(pod)).stat().st_size > 0
    report = pod.run("report")
    assert report.returncode == 0, report.stderr
    ((path, body),) = pushgateway.pushes
    assert path == "/metrics/job/odoo-dump/tenant/globex"
    assert 'odoo_platform_backup_last_success_timestamp_seconds{tier="3"}' in body


def test_a_rotated_password_replaces_the_old_one(real_postgres, manifests, secrets, bootstrapped, tmp_path):
    old = secrets["pg-roles-shared"]["globex"]
    assert tenant_psql(real_postgres, secrets, "globex", "SELECT 1").returncode == 0
    rotated = {name: dict(values) for name, values in secrets.items()}
    rotated["pg-roles-shared"]["globex"] = "globex-rotated-password"
    job = find(manifests, "Job", "db-bootstrap-shared-", "platform-operations")
    pod = Pod(manifests, "platform-operations", job["spec"]["template"]["spec"], tmp_path, rotated, real_postgres)
    run = pod.run("bootstrap")
    try:
        assert run.returncode == 0, run.stderr
        assert tenant_psql(real_postgres, rotated, "globex", "SELECT 1").returncode == 0
        refused = real_postgres.psql("SELECT 1", "odoo_globex", old, "globex")
        assert refused.returncode != 0 and "password authentication failed" in refused.stderr
    finally:
        real_postgres.as_admin(f"ALTER ROLE odoo_globex PASSWORD '{old}'")  # later tests log in with the original


def test_a_drill_that_cannot_fetch_is_reported_as_failed(real_postgres, manifests, secrets, bootstrapped, pushgateway, tmp_path):
    """The fetch container fails here for real (no cloud CLI, no workload identity on this machine):
    the pod still reaches its report, which pushes the failure."""
    pod = Pod(manifests, "platform-operations", cron_pod(find(manifests, "CronJob", "restore-drill-acme", "platform-operations")),
              tmp_path, secrets, real_postgres, overrides={"PUSHGATEWAY_URL": pushgateway.url})
    fetch = pod.run("fetch")
    assert fetch.returncode == 0, fetch.stderr
    assert (pod.work() / "fetch-failed").exists() and not (pod.work() / "latest.dump").exists()
    check = pod.run("restore-check")
    assert check.returncode == 0 and "fetching the latest dump and filestore archive failed" in check.stderr
    report = pod.run("report")
    assert report.returncode != 0 and _pushed(pushgateway) == {"odoo_platform_restore_drill_success": "0"}
