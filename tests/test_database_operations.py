"""What the operations objects promise in the plan: archive reachability, identity, client
version, drill reporting, the filestore archive and the alerts. The scripts themselves run
against a real PostgreSQL in tests/test_database_operations_real.py."""

from __future__ import annotations

import pytest

from odoo_platform.clouds.azure.network import ENDPOINT_SUBNET
from odoo_platform.components.database_operations import cron_every
from odoo_platform.components.observability import alert_groups, backup_overdue_minutes, longest_gap_days
from odoo_platform.config import parse_estate
from odoo_platform.errors import EstateConfigError
from odoo_platform.offline.plan import kubernetes_objects
from odoo_platform.workload import PRIVATE_RANGES
from tests.conftest import AWS_EXISTING, estate
from tests.stack_plans import plan_of_estate


def _objects(plan, kind, namespace=None):
    return {o["metadata"]["name"]: o for o in kubernetes_objects(plan)
            if o["kind"] == kind and (namespace is None or o["metadata"].get("namespace") == namespace)}


def _https_private_peers(policy) -> list[str]:
    """CIDRs a policy opens on 443 that lie in private ranges (the public rule excepts them all)."""
    return [peer["ipBlock"]["cidr"] for rule in policy["spec"].get("egress", []) for peer in rule.get("to", [])
            if "ipBlock" in peer and not peer["ipBlock"].get("except")
            and any(p["port"] == 443 for p in rule.get("ports", []))]


@pytest.fixture(scope="module")
def azure_plan(project):
    return plan_of_estate(project, estate(postgres={"version": 17}), stack="t")


def test_azure_opens_exactly_the_archive_endpoint_subnet_on_443(azure_plan):
    operations = _objects(azure_plan, "NetworkPolicy", "platform-operations")["allow-egress-operations"]
    assert _https_private_peers(operations) == [ENDPOINT_SUBNET]
    archive = _objects(azure_plan, "NetworkPolicy", "odoo-acme")["allow-egress-filestore-archive"]
    assert _https_private_peers(archive) == [ENDPOINT_SUBNET]
    assert archive["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "filestore-archive"


def test_aws_opens_no_private_range_for_the_archive(plan_for):
    plan = plan_for(estate(cloud="aws", region="eu-central-1", aws=AWS_EXISTING))
    operations = _objects(plan, "NetworkPolicy", "platform-operations")["allow-egress-operations"]
    assert _https_private_peers(operations) == []
    public = [peer["ipBlock"] for rule in operations["spec"]["egress"] for peer in rule["to"]
              if peer.get("ipBlock", {}).get("except")]
    assert public == [{"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}]


@pytest.mark.parametrize("cloud, region, what", [("azure", "westeurope", "client id"), ("aws", "eu-central-1", "ARN")])
def test_the_operations_identity_is_required(plan_for, cloud, region, what):
    with pytest.raises(EstateConfigError, match=f"kubernetes.operationsIdentity: is required .* set it to the {what}"):
        aws = {"aws": AWS_EXISTING} if cloud == "aws" else {}
        plan_for(estate(cloud=cloud, region=region, kubernetes={"operationsIdentity": ""}, **aws))


def test_the_archive_service_accounts_carry_the_identity(azure_plan):
    identity = estate()["kubernetes"]["operationsIdentity"]
    for namespace, name in (("platform-operations", "odoo-ops"), ("odoo-acme", "odoo-archive"), ("odoo-globex", "odoo-archive")):
        account = _objects(azure_plan, "ServiceAccount", namespace)[name]
        assert account["metadata"]["annotations"] == {"azure.workload.identity/client-id": identity}


def test_the_client_image_follows_the_server_version(azure_plan):
    images = {c["image"] for cron in _objects(azure_plan, "CronJob").values()
              for c in cron["spec"]["jobTemplate"]["spec"]["template"]["spec"].get("initContainers", [])
              if "postgres" in c["image"]}
    assert images == {"docker.io/library/postgres:17.2"}


@pytest.mark.parametrize("image, accepted", [
    ("docker.io/library/postgres:15.8", False),
    ("docker.io/library/postgres@sha256:" + "a" * 64, False),
    ("docker.io/library/postgres:16.4-alpine@sha256:" + "a" * 64, True),
    ("docker.io/library/postgres:17.0", True),
])
def test_a_configured_client_image_must_not_be_older_than_the_server(image, accepted):
    from odoo_platform.components.database_operations import postgres_client_image

    model = parse_estate(estate(postgres={"version": 16}, kubernetes={"postgresClientImage": image}))
    if accepted:
        assert postgres_client_image(model) == image
    else:
        with pytest.raises(EstateConfigError, match="kubernetes.postgresClientImage: .* postgres.version 16"):
            postgres_client_image(model)


def test_the_drill_reports_from_its_main_container_and_the_filestore_is_archived_read_only(azure_plan):
    drill = _objects(azure_plan, "CronJob", "platform-operations")["restore-drill-acme"]
    pod = drill["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["fetch", "restore-check"]
    assert [c["name"] for c in pod["containers"]] == ["report"]
    archive = _objects(azure_plan, "CronJob", "odoo-acme")["filestore-archive"]
    pod = archive["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (claim,) = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert claim["persistentVolumeClaim"] == {"claimName": "odoo-filestore", "readOnly": True}
    mounts = [m for c in pod["initContainers"] for m in c["volumeMounts"] if m["name"] == claim["name"]]
    assert mounts and all(m["readOnly"] for m in mounts)
    assert not any("secretKeyRef" in str(c.get("env")) for c in pod["initContainers"] + pod["containers"])
    dump = _objects(azure_plan, "CronJob", "platform-operations")["dump-acme"]["spec"]["schedule"]
    assert dump == "15 */4 * * *" and archive["spec"]["schedule"] == "25 */4 * * *"


def test_cron_every_offsets_within_the_interval():
    assert cron_every(30) == "15-59/30 * * * *"
    assert cron_every(15) == "*/15 * * * *" and cron_every(15, 25) == "10-59/15 * * * *"
    assert cron_every(1440, 25) == "25 1 * * *"


def test_backup_and_drill_alerts_follow_the_interval_and_the_schedule():
    rules = {r["alert"]: r for group in alert_groups(parse_estate(estate())) for r in group["rules"]}
    assert not any(name.startswith("BackupOlderThanRpo") for name in rules)
    assert rules["BackupOverdueTier1"]["expr"].endswith(f"> {90 * 60}")  # hourly dumps: 60 + 30 minutes, not the 15-minute RPO
    assert rules["FilestoreArchiveOverdueTier3"]["expr"].endswith(f"> {(1440 + 360) * 60}")
    assert rules["RestoreDrillStaleTier2"]["expr"].endswith(f"> {(92 + 2) * 86400}")  # quarterly drills
    assert "odoo_platform_restore_drill_last_success_timestamp_seconds" in rules["RestoreDrillStaleTier1"]["expr"]
    assert rules["RestoreDrillFailed"]["expr"] == "min by (tenant) (odoo_platform_restore_drill_success) == 0"
    assert backup_overdue_minutes(240) == 300
    assert longest_gap_days("0 3 1 * *") == 31 and longest_gap_days("0 3 * * 0") == 7


def test_azure_allows_the_pg_trgm_extension_tenants_create(azure_plan):
    parameters = {r["inputs"]["configurationName"]: r["inputs"]["value"] for r in azure_plan["resources"]
                  if r["type"] == "azure-native:dbforpostgresql:Configuration"}
    assert "PG_TRGM" in parameters["azure.extensions"].split(",")


@pytest.mark.parametrize("schedule", ["0 3 * * MON", "0 3 1 *", "0 3 29 2 *"])
def test_a_drill_schedule_the_stale_alert_cannot_read_is_a_config_error(schedule):
    with pytest.raises(EstateConfigError, match="tiers.2.restoreDrillSchedule"):
        alert_groups(parse_estate(estate(tiers={2: {"restoreDrillSchedule": schedule}})))
