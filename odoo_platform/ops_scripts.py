"""Shell scripts the operations jobs run (mounted from a ConfigMap; they hold no secrets).

Credentials come from Secrets as environment variables or read-only files; object storage is
reached with the cloud CLI under the jobs' workload identity. Every directory a script uses
is named by an environment variable the Job sets to its volume's mount path (`WORK`, `ROLES`,
`FILESTORE`), so the tests run these exact texts against a real PostgreSQL.

Archive layout: `$ARCHIVE_URL/<tenant>/database/<UTC stamp>.dump` (pg_dump custom format) and
`$ARCHIVE_URL/<tenant>/filestore/<UTC stamp>.tar.gz` (the tenant's Odoo filestore).
"""

from __future__ import annotations

BOOTSTRAP = r"""#!/bin/sh
# Create or update each tenant's login role and its database. Idempotent: safe to rerun.
#
# It runs as the managed server's administrator, which is not a superuser (Azure flexible
# server: a member of azure_pg_admin; RDS: a member of rds_superuser). PostgreSQL lets only a
# superuser name the SUPERUSER or REPLICATION attribute in ALTER ROLE, even as NOSUPERUSER
# ("must be superuser to alter superuser roles or change superuser attribute", see
# https://www.postgresql.org/docs/current/sql-alterrole.html), so ALTER ROLE names only what a
# CREATEROLE role may change. CREATE ROLE already defaults to NOSUPERUSER NOREPLICATION, and
# a CREATEROLE role cannot create a superuser; a pre-existing superuser of the same name makes
# the ALTER ROLE fail, which stops the Job rather than handing that role to a tenant.
#
# The administrator becomes a member of each tenant role: CREATE DATABASE ... OWNER needs it
# (https://www.postgresql.org/docs/current/sql-createdatabase.html), and it keeps the owner's
# rights, which is how the dump jobs read a database that PUBLIC may not connect to. On
# PostgreSQL 16+ a CREATEROLE role holds ADMIN OPTION on the roles it created, which is what
# lets it grant itself that membership (https://www.postgresql.org/docs/16/sql-createrole.html).
set -eu
export PGSSLMODE=require PGHOST="$PG_HOST" PGUSER="$PG_ADMIN_USER" PGPASSWORD="$PG_ADMIN_PASSWORD" PGDATABASE=postgres
for tenant in $TENANTS; do
  role="$(echo "odoo_$tenant" | tr '-' '_')"
  db="$(echo "$tenant" | tr '-' '_')"
  # The password is read by psql from the mounted Secret file, never passed as an argument.
  psql -X -q -v ON_ERROR_STOP=1 -v role="$role" -v db="$db" -v password_file="$ROLES/$tenant" <<'SQL'
\set password `cat :'password_file'`
SELECT format('CREATE ROLE %I LOGIN NOCREATEROLE NOCREATEDB', :'role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOCREATEROLE NOCREATEDB PASSWORD %L', :'role', :'password') \gexec
SELECT format('GRANT %I TO CURRENT_USER', :'role')
  WHERE NOT pg_has_role(CURRENT_USER, :'role', 'USAGE') \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8'' TEMPLATE template0', :'db', :'role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'role') \gexec
-- Only the owner (and so the administrator, its member) may connect: no tenant reaches another's database.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SQL
done
"""

DUMP = r"""#!/bin/sh
# Logical dump of one tenant database into the work volume. pg_dump refuses a server of a
# newer major version than itself, so the client image follows postgres.version.
set -eu
export PGSSLMODE=require PGHOST="$PG_HOST" PGUSER="$PG_ADMIN_USER" PGPASSWORD="$PG_ADMIN_PASSWORD" PGDATABASE="$DATABASE"
pg_dump --format=custom --no-owner --file="$WORK/$ARTIFACT"
date -u +%Y%m%dT%H%M%SZ > "$WORK/stamp"
"""

FILESTORE_ARCHIVE = r"""#!/bin/sh
# Archive the tenant's Odoo filestore (attachments, `filestore/<database>/` under Odoo's
# data_dir) from its volume, mounted read-only, into the work volume.
set -eu
if [ ! -d "$FILESTORE/filestore/$DATABASE" ]; then
  echo "no filestore at $FILESTORE/filestore/$DATABASE" >&2
  exit 1
fi
tar -czf "$WORK/$ARTIFACT" -C "$FILESTORE" "filestore/$DATABASE"
date -u +%Y%m%dT%H%M%SZ > "$WORK/stamp"
"""

UPLOAD_AZURE = r"""#!/bin/bash
set -euo pipefail
az login --service-principal -u "$AZURE_CLIENT_ID" -t "$AZURE_TENANT_ID" \
  --federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --output none
az storage blob upload --auth-mode login --overwrite false --only-show-errors \
  --blob-url "$ARCHIVE_URL/$TENANT/$KIND/$(cat "$WORK/stamp").${ARTIFACT#*.}" --file "$WORK/$ARTIFACT"
"""

UPLOAD_AWS = r"""#!/bin/bash
set -euo pipefail
aws s3 cp --only-show-errors "$WORK/$ARTIFACT" "$ARCHIVE_URL/$TENANT/$KIND/$(cat "$WORK/stamp").${ARTIFACT#*.}"
"""

# Fetch failures are recorded, not raised: the drill's report must run and say it failed.
FETCH_AZURE = r"""#!/bin/bash
set -uo pipefail
fetch() {
  set -e
  az login --service-principal -u "$AZURE_CLIENT_ID" -t "$AZURE_TENANT_ID" \
    --federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --output none
  local account container kind latest
  account="$(echo "$ARCHIVE_URL" | sed -E 's#https://([^.]+)\..*#\1#')"
  container="${ARCHIVE_URL##*/}"
  for kind in database:latest.dump filestore:latest.tar.gz; do
    latest="$(az storage blob list --auth-mode login --account-name "$account" --container-name "$container" \
      --prefix "$TENANT/${kind%%:*}/" --query 'max_by(@, &properties.creationTime).name' --output tsv)"
    [ -n "$latest" ]
    az storage blob download --auth-mode login --account-name "$account" --container-name "$container" \
      --name "$latest" --file "$WORK/${kind#*:}" --only-show-errors
  done
}
( fetch ) || echo "fetching the latest dump and filestore archive failed" > "$WORK/fetch-failed"
exit 0
"""

FETCH_AWS = r"""#!/bin/bash
set -uo pipefail
fetch() {
  set -e
  local kind latest
  for kind in database:latest.dump filestore:latest.tar.gz; do
    latest="$(aws s3 ls "$ARCHIVE_URL/$TENANT/${kind%%:*}/" | sort | tail -n 1 | awk '{print $4}')"
    [ -n "$latest" ]
    aws s3 cp --only-show-errors "$ARCHIVE_URL/$TENANT/${kind%%:*}/$latest" "$WORK/${kind#*:}"
  done
}
( fetch ) || echo "fetching the latest dump and filestore archive failed" > "$WORK/fetch-failed"
exit 0
"""

RESTORE_CHECK = r"""#!/bin/sh
# Restore the latest dump into a scratch database and the filestore archive into the work
# volume, prove them usable together, always clean up. It records the outcome in
# $WORK/result (1 passed, 0 failed) and exits 0 either way, so that the report container runs
# and pushes a failure too.
set -u
export PGSSLMODE=require PGHOST="$PG_HOST" PGUSER="$PG_ADMIN_USER" PGPASSWORD="$PG_ADMIN_PASSWORD" PGDATABASE=postgres
scratch="drill_$(echo "$TENANT" | tr '-' '_')"
restored="$WORK/restored"
trap 'psql -X -q -c "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" >/dev/null; rm -rf "$restored"' EXIT
echo 0 > "$WORK/result"
fail() { echo "restore drill failed: $1" >&2; exit 0; }
[ ! -e "$WORK/fetch-failed" ] || fail "$(cat "$WORK/fetch-failed")"
psql -X -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" -c "CREATE DATABASE $scratch" \
  || fail "cannot create the scratch database $scratch"
pg_restore --no-owner --exit-on-error --dbname="$scratch" "$WORK/latest.dump" || fail "pg_restore of the dump failed"
users="$(psql -X -At -d "$scratch" -c 'SELECT count(*) FROM res_users WHERE active')" || fail "res_users is unreadable"
[ "${users:-0}" -gt 0 ] || fail "the restored database has no active user"
mkdir -p "$restored" && tar -xzf "$WORK/latest.tar.gz" -C "$restored" || fail "the filestore archive does not extract"
# Every stored attachment of the restored database must be in the restored filestore with
# the content its checksum names (Odoo stores files as <sha1[:2]>/<sha1>).
psql -X -At -d "$scratch" -v ON_ERROR_STOP=1 -o "$WORK/attachments.sha1" \
  -c "SELECT checksum || '  ' || store_fname FROM ir_attachment WHERE store_fname IS NOT NULL AND checksum IS NOT NULL" \
  || fail "ir_attachment is unreadable"
if [ -s "$WORK/attachments.sha1" ]; then
  (cd "$restored/filestore/$DATABASE" && sha1sum -c "$WORK/attachments.sha1" >/dev/null) \
    || fail "attachments of the restored database are missing or differ in the filestore archive"
fi
echo 1 > "$WORK/result"
"""

REPORT = r"""#!/bin/sh
# Report the job's outcome to the Pushgateway, where the alert rules see it. A push (POST)
# replaces only the metrics it names, so a failed drill keeps the time of the last success.
set -eu
gauge() { printf '# TYPE %s gauge\n%s{tier="%s"} %s\n' "$1" "$1" "$TIER" "$2"; }
if [ "$JOB" = odoo-restore-drill ]; then
  result="$(cat "$WORK/result" 2>/dev/null || echo 0)"
  metrics="$(gauge odoo_platform_restore_drill_success "$result")"
  if [ "$result" = 1 ]; then
    metrics="$metrics
$(gauge odoo_platform_restore_drill_last_success_timestamp_seconds "$(date +%s)")"
  fi
else
  result=1
  metrics="$(gauge "$METRIC" "$(date +%s)")"
fi
printf '%s\n' "$metrics" | curl --fail --silent --show-error --data-binary @- "$PUSHGATEWAY_URL/metrics/job/$JOB/tenant/$TENANT"
# A failed drill also fails its Job, so it shows in the cluster as well as in the alert.
[ "$result" = 1 ]
"""


# The cloud CLI images run bash; the PostgreSQL and curl images only have a POSIX shell.
INTERPRETERS = {"upload.sh": "/bin/bash", "fetch.sh": "/bin/bash"}


def interpreter(script: str) -> str:
    return INTERPRETERS.get(script, "/bin/sh")


def scripts_for(cloud: str) -> dict[str, str]:
    return {
        "bootstrap.sh": BOOTSTRAP,
        "dump.sh": DUMP,
        "filestore-archive.sh": FILESTORE_ARCHIVE,
        "upload.sh": UPLOAD_AZURE if cloud == "azure" else UPLOAD_AWS,
        "fetch.sh": FETCH_AZURE if cloud == "azure" else FETCH_AWS,
        "restore-check.sh": RESTORE_CHECK,
        "report.sh": REPORT,
    }
