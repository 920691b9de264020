"""The upgrade Job's identity, and the script that stops and restarts cron around it."""

from __future__ import annotations

import copy

import pytest

from odoo_platform.cron_scaler import scale
from odoo_platform.governance.diff import diff_plans
from tests.conftest import DIGEST, estate
from tests.stack_plans import plan_of_estate

JOB_TYPE = "kubernetes:batch/v1:Job"


def _jobs(plan, tenant: str) -> dict[str, dict]:
    return {r["name"]: r for r in plan["resources"] if r["type"] == JOB_TYPE and r["name"].startswith(f"{tenant}-")}


@pytest.fixture(scope="module")
def plans(project):
    def plan(config):
        return plan_of_estate(project, config)  # estate() is shared with the other tests' plans (plan_of_estate)

    base = estate()
    promoted = copy.deepcopy(base)
    promoted["tenants"][0]["tier"] = 1  # acme: tier 2 -> 1 (other window, labels, replicas, rotation)
    new_image = estate(image=DIGEST)
    return plan(base), plan(promoted), plan(new_image)


def test_a_tier_change_leaves_the_upgrade_jobs_alone(plans):
    base, promoted, _ = plans
    before, after = _jobs(base, "acme"), _jobs(promoted, "acme")
    assert set(before) == set(after) == {"acme-upgrade", "acme-cron-start"}
    for name in before:
        assert before[name]["inputs"]["spec"] == after[name]["inputs"]["spec"], name
        assert before[name]["inputs"]["metadata"]["name"] == after[name]["inputs"]["metadata"]["name"]
    # The tier did change other things, and the change diff replaces no Job.
    assert before["acme-upgrade"]["inputs"]["metadata"]["labels"] != after["acme-upgrade"]["inputs"]["metadata"]["labels"]
    changes = diff_plans(base, promoted).changes
    assert any(c.name == "acme-web" for c in changes)
    assert not [c for c in changes if c.type == JOB_TYPE and c.action != "update"]


def test_an_image_change_gives_a_new_upgrade_job(plans):
    base, _, new_image = plans
    for tenant in ("acme", "globex"):
        before, after = _jobs(base, tenant), _jobs(new_image, tenant)
        assert before[f"{tenant}-upgrade"]["inputs"]["metadata"]["name"] != after[f"{tenant}-upgrade"]["inputs"]["metadata"]["name"]
        assert before[f"{tenant}-cron-start"]["inputs"]["metadata"]["name"] != after[f"{tenant}-cron-start"]["inputs"]["metadata"]["name"]
    replaced = {c.name for c in diff_plans(base, new_image).changes if c.type == JOB_TYPE and c.action == "replace"}
    assert {"acme-upgrade", "globex-upgrade"} <= replaced


class FakeApi:
    """The two API calls the script makes, with pods that go away after `polls_left` lists."""

    def __init__(self, exists: bool = True, polls_left: int = 2, patch_status: int = 200):
        self.exists, self.polls_left, self.patch_status = exists, polls_left, patch_status
        self.calls: list[tuple[str, str, object]] = []

    def __call__(self, method, path, body):
        self.calls.append((method, path, body))
        if method == "PATCH":
            return (self.patch_status if self.exists else 404), {}
        self.polls_left -= 1
        return 200, {"items": [{"metadata": {"name": "odoo-cron-1"}}] if self.polls_left > 0 else []}


def test_stopping_cron_waits_until_its_pod_is_gone():
    api = FakeApi(polls_left=3)
    message = scale(api, "odoo-acme", 0, "odoo-cron", "app.kubernetes.io/component=cron", 60, sleep=lambda s: None)
    assert message == "odoo-cron stopped: no pod left"
    assert api.calls[0] == ("PATCH", "/apis/apps/v1/namespaces/odoo-acme/deployments/odoo-cron/scale",
                            {"spec": {"replicas": 0}})
    assert [method for method, _, _ in api.calls] == ["PATCH", "GET", "GET", "GET"]
    assert "labelSelector=app.kubernetes.io%2Fcomponent%3Dcron" in api.calls[1][1]


def test_a_first_deploy_has_no_cron_to_stop_and_starting_does_not_wait():
    assert "does not exist yet" in scale(FakeApi(exists=False), "ns", 0, "odoo-cron", "x=y", 60)
    api = FakeApi()
    assert scale(api, "ns", 1, "odoo-cron", "x=y", 60) == "odoo-cron scaled to 1"
    assert [method for method, _, _ in api.calls] == ["PATCH"]


def test_a_cron_that_does_not_stop_or_a_refused_scale_fails_the_job():
    now = iter(range(0, 1000, 10))
    with pytest.raises(RuntimeError, match="still has pods after 30s: odoo-cron-1"):
        scale(FakeApi(polls_left=100), "ns", 0, "odoo-cron", "x=y", 30, sleep=lambda s: None, clock=lambda: next(now))
    with pytest.raises(RuntimeError, match="HTTP 403"):
        scale(FakeApi(patch_status=403), "ns", 0, "odoo-cron", "x=y", 30)
