"""Shell scripts the operations jobs run (mounted from a ConfigMap; they hold no secrets).

Credentials come from Secrets as environment variables; object storage is reached with the
cloud CLI under the jobs' workload identity.
"""

from __future__ import annotations

BOOTSTRAP = r"""#!/bin/sh
# Create or update each tenant's non-superuser role and its database. Idempotent.
set -eu
export PGSSLMODE=require PGHOST="$PG_HOST" PGUSER="$PG_ADMIN_USER" PGPASSWORD="$PG_ADMIN_PASSWORD" PGDATABASE=postgres
for tenant in $TENANTS; do
  role="$(echo "odoo_$tenant" | tr '-' '_')"
  db="$(echo "$tenant" | tr '-' '_')"
  password="$(cat "/roles/$tenant")"
  psql -v ON_ERROR_STOP=1 -v role="$role" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION', :'role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD %L', :'role', :'password') \gexec
SQL
  psql -v ON_ERROR_STOP=1 -v role="$role" -v db="$db" <<'SQL'
SELECT format('GRANT %I TO CURRENT_USER', :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8'' TEMPLATE template0', :'db', :'role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'role') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SQL
done
"""

DUMP = r"""#!/bin/sh
# Logical dump of one tenant database into the shared work volume.
set -eu
export PGSSLMODE=require PGHOST="$PG_HOST" PGUSER="$PG_ADMIN_USER" PGPASSWORD="$PG_ADMIN_PASSWORD"
pg_dump --format=custom --no-owner --dbname="$DATABASE" --file="/work/$TENANT.dump"
date -u +%Y%m%dT%H%M%SZ > /work/stamp
"""

UPLOAD_AZURE = r"""#!/bin/bash
set -euo pipefail
az login --service-principal -u "$AZURE_CLIENT_ID" -t "$AZURE_TENANT_ID" \
  --federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --output none
az storage blob upload --auth-mode login --overwrite false --only-show-errors \
  --blob-url "$ARCHIVE_URL/$TENANT/$(cat /work/stamp).dump" --file "/work/$TENANT.dump"
"""

UPLOAD_AWS = r"""#!/bin/bash
set -euo pipefail
aws s3 cp --only-show-errors "/work/$TENANT.dump" "$ARCHIVE_URL/$TENANT/$(cat /work/stamp).dump"
"""

FETCH_AZURE = r"""#!/bin/bash
set -euo pipefail
az login --service-principal -u "$AZURE_CLIENT_ID" -t "$AZURE_TENANT_ID" \
  --federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --output none
account="$(echo "$ARCHIVE_URL" | sed -E 's#https://([^.]+)\..*#\1#')"
container="${ARCHIVE_URL##*/}"
latest="$(az storage blob list --auth-mode login --account-name "$account" --container-name "$container" \
  --prefix "$TENANT/" --query 'max_by(@, &properties.creationTime).name' --output tsv)"
az storage blob download --auth-mode login --account-name "$account" --container-name "$container" \
  --name "$latest" --file /work/latest.dump --only-show-errors
"""

FETCH_AWS = r"""#!/bin/bash
set -euo pipefail
latest="$(aws s3 ls "$ARCHIVE_URL/$TENANT/" | sort | tail -n 1 | awk '{print $4}')"
aws s3 cp --only-show-errors "$ARCHIVE_URL/$TENANT/$latest" /work/latest.dump
"""

RESTORE_CHECK = r"""#!/bin/sh
# Restore the latest dump into a scratch database, prove it is usable, always clean up.
set -u
export PGSSLMODE=require PGHOST="$PG_HOST" PGUSER="$PG_ADMIN_USER" PGPASSWORD="$PG_ADMIN_PASSWORD" PGDATABASE=postgres
scratch="drill_$(echo "$TENANT" | tr '-' '_')"
trap 'psql -c "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" >/dev/null' EXIT
echo 0 > /work/result
psql -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" -c "CREATE DATABASE $scratch" || exit 1
pg_restore --no-owner --exit-on-error --dbname="$scratch" /work/latest.dump || exit 1
users="$(psql -At -d "$scratch" -c 'SELECT count(*) FROM res_users WHERE active')" || exit 1
[ "${users:-0}" -gt 0 ] && echo 1 > /work/result
"""

REPORT = r"""#!/bin/sh
# Report the job's outcome to the Pushgateway, where the alert rules see it.
set -eu
value="$(cat /work/result 2>/dev/null || echo 1)"
if [ "$METRIC" = odoo_platform_backup_last_success_timestamp_seconds ]; then value="$(date +%s)"; fi
printf '# TYPE %s gauge\n%s{tier="%s"} %s\n' "$METRIC" "$METRIC" "$TIER" "$value" |
  curl --fail --silent --show-error --data-binary @- "$PUSHGATEWAY_URL/metrics/job/$JOB/tenant/$TENANT"
"""


# The cloud CLI images run bash; the PostgreSQL and curl images only have a POSIX shell.
INTERPRETERS = {"upload.sh": "/bin/bash", "fetch.sh": "/bin/bash"}


def interpreter(script: str) -> str:
    return INTERPRETERS.get(script, "/bin/sh")


def scripts_for(cloud: str) -> dict[str, str]:
    return {
        "bootstrap.sh": BOOTSTRAP,
        "dump.sh": DUMP,
        "upload.sh": UPLOAD_AZURE if cloud == "azure" else UPLOAD_AWS,
        "fetch.sh": FETCH_AZURE if cloud == "azure" else FETCH_AWS,
        "restore-check.sh": RESTORE_CHECK,
        "report.sh": REPORT,
    }
