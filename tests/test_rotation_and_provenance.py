"""Secret rotation by tier and image provenance, as registered by the program."""

from __future__ import annotations

import pytest

from odoo_platform.config import parse_estate
from odoo_platform.errors import EstateConfigError
from odoo_platform.offline.plan import secret_rotations, summary
from tests.conftest import DIGEST, by_name, estate
from tests.stack_plans import plan_of

ROTATING = "time:index/rotating:Rotating"
PASSWORD = "random:index/randomPassword:RandomPassword"


def test_every_generated_password_rotates_on_its_tiers_schedule(plan_for):
    plan = plan_for(estate())  # acme is tier 2 (60 days), globex tier 3 (90 days); the shared server is tier 2
    rotations = secret_rotations(plan)
    assert rotations == {
        "acme-admin-password": 60, "globex-admin-password": 90,
        "acme-redis-password": 60, "globex-redis-password": 90,
        "postgres-shared-admin-password": 60,
        "postgres-shared-acme-role-password": 60, "postgres-shared-globex-role-password": 90,
    }
    password = by_name(plan)["postgres-shared-acme-role-password"]
    rotation = by_name(plan)["postgres-shared-acme-role-password-rotation"]
    assert (rotation["type"], rotation["parent"]) == (ROTATING, password["parent"])
    assert password["inputs"]["keepers"] == {"rotation": "2026-01-01T00:00:00Z"}
    assert rotation["urn"] in password["dependsOn"]
    assert "every 60 days: acme-admin-password" in summary(plan)


def test_the_secret_store_copy_expires_when_rotation_is_due(plan_for):
    plan = plan_for(estate())
    stored = by_name(plan)["postgres-shared-acme-role-secret"]
    assert stored["type"] == "azure-native:keyvault:Secret"
    # 2026-01-01 + 60 days = 2026-03-02T00:00:00Z
    assert stored["inputs"]["properties"]["attributes"] == {"enabled": True, "expires": 1772409600}
    assert stored["inputs"]["tags"]["rotation-days"] == "60"
    assert stored["inputs"]["tags"]["tenant"] == "acme"


def test_rotation_rolls_the_workloads_and_reruns_the_role_bootstrap(plan_for):
    plan = plan_for(estate())
    web = by_name(plan)["acme-web"]
    annotations = web["inputs"]["spec"]["template"]["metadata"]["annotations"]
    assert len(annotations["odoo-platform.io/credentials-revision"]) == 16
    bootstrap = by_name(plan)["operations-shared-bootstrap"]
    assert bootstrap["urn"] in web["dependsOn"]
    assert bootstrap["urn"] in by_name(plan)["acme-upgrade"]["dependsOn"]
    assert bootstrap["inputs"]["metadata"]["name"].startswith("db-bootstrap-shared-")
    redis = by_name(plan)["acme-redis-deployment"]
    assert "odoo-platform.io/credentials-revision" in redis["inputs"]["spec"]["template"]["metadata"]["annotations"]


def test_a_tier_can_change_its_rotation_period(plan_for):
    plan = plan_for(estate(tiers={"3": {"secretRotationDays": 14}}))
    assert secret_rotations(plan)["globex-admin-password"] == 14
    with pytest.raises(EstateConfigError, match=r"tiers\[3\]\.secretRotationDays: 400: input should be less than or equal to 365"):
        parse_estate(estate(tiers={"3": {"secretRotationDays": 400}}))


def test_aws_redis_auth_token_rotation_leaves_only_the_new_token_valid():
    plan = plan_of("aws-hybrid-prod")
    group = by_name(plan)["redis-shared-cache"]
    # ROTATE keeps the old token valid until a later SET, which nothing would issue (issue 18).
    assert group["inputs"]["authTokenUpdateStrategy"] == "SET"
    assert secret_rotations(plan)["redis-shared-auth-token"] == 60  # the shared cache serves tier 2 and 3
    assert secret_rotations(plan)["redis-dedicated-rheinbank-auth-token"] == 30


def test_production_stacks_have_no_unrotated_secret():
    for stack in ("prod", "dedicated-prod", "hybrid-prod", "aws-hybrid-prod"):
        assert None not in secret_rotations(plan_of(stack)).values(), stack


def _cluster_policy(plan):
    (policy,) = [r for r in plan["resources"] if r["type"] == "kubernetes:kyverno.io/v1:ClusterPolicy"]
    return policy


def test_production_admits_only_signed_odoo_images_by_digest():
    plan = plan_of("prod")
    policy = _cluster_policy(plan)
    spec = policy["inputs"]["spec"]
    assert spec["webhookConfiguration"]["failurePolicy"] == "Fail"
    registries, signed = spec["rules"]
    assert registries["validate"]["failureAction"] == "Enforce"
    assert "registry.example.com/odoo/*" in registries["validate"]["pattern"]["spec"]["containers"][0]["image"]
    (verify,) = signed["verifyImages"]
    assert verify["imageReferences"] == ["registry.example.com/odoo/odoo:*", "registry.example.com/odoo/odoo@*"]
    assert (verify["failureAction"], verify["verifyDigest"], verify["required"]) == ("Enforce", True, True)
    assert verify["attestors"][0]["entries"][0]["keys"] == {"kms": "azurekms://kv-odoo-signing.vault.azure.net/cosign"}
    release = by_name(plan)["image-admission-kyverno"]
    assert release["urn"] in policy["dependsOn"]
    assert release["inputs"]["values"]["admissionController"]["replicas"] == 3
    assert policy["parent"].endswith("odoo-platform:index:ImageAdmission::image-admission")


def test_dev_audits_instead_of_enforcing(plan_for):
    plan = plan_for(estate())
    rules = _cluster_policy(plan)["inputs"]["spec"]["rules"]
    assert rules[0]["validate"]["failureAction"] == "Audit"
    assert rules[1]["verifyImages"][0]["failureAction"] == "Audit"


def test_image_policy_config_errors_name_the_field():
    with pytest.raises(EstateConfigError, match=r"^image: 'ghcr\.io/x/odoo:17\.0' is not from an approved registry"):
        parse_estate(estate(image="ghcr.io/x/odoo:17.0"))
    with pytest.raises(EstateConfigError, match=r"^kubernetes\.redis_image: 'quay\.io/r/redis:7' is not from an approved"):
        parse_estate(estate(kubernetes={"redisImage": "quay.io/r/redis:7"}))
    with pytest.raises(EstateConfigError, match=r"^imagePolicy\.signingKey: is required in prod"):
        parse_estate(estate(environment="prod", image=DIGEST, imagePolicy={}))
    with pytest.raises(EstateConfigError, match=r"^imagePolicy\.signingKey: is neither a PEM public key nor a KMS reference"):
        parse_estate(estate(imagePolicy={"signingKey": "my-key"}))
    allowed = parse_estate(estate(image="ghcr.io/x/odoo:17.0", imagePolicy={
        "approvedRegistries": ["ghcr.io/x", "docker.io/library", "docker.io/amazon", "docker.io/curlimages",
                               "registry.k8s.io", "mcr.microsoft.com"]}))
    assert allowed.signed_repositories == ["ghcr.io/x/odoo"]


def test_a_dedicated_placements_secrets_are_tagged_to_its_tenant():
    stored = {r["name"]: r["inputs"]["tags"] for r in plan_of("dedicated-prod")["resources"]
              if r["type"] == "azure-native:keyvault:Secret"}
    assert stored["postgres-dedicated-fidelis-admin-secret"]["tenant"] == "fidelis"
    assert stored["postgres-dedicated-fidelis-admin-secret"]["placement"] == "dedicated-fidelis"
    assert stored["postgres-dedicated-fidelis-fidelis-role-secret"]["tier"] == "1"
