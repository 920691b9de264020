"""Checkov, pinned in its own venv, finds nothing in any production stack's manifests.

Where a check does not fit on purpose, the object carries Checkov's own suppression annotation
(`checkov.io/skip<n>: <check>=<reason>`); every suppression has a reason and is listed in the
README's table, so a new one cannot slip in unreviewed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import yaml

from odoo_platform.offline.plan import kubernetes_objects
from tests.conftest import ROOT
from tests.stack_plans import all_stacks, environment_of, plan_of

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
# From the stack files, not the plans: this list is made at collection, when a plan of every stack would
# cost every run (even one selecting other tests) a minute.
PRODUCTION = [stack for stack in all_stacks() if environment_of(stack) == "prod"]
SKIP = re.compile(r"^checkov\.io/skip\d+$")


def _suppressions(objects: list[dict]) -> set[tuple[str, str]]:
    found = set()
    for obj in objects:
        for key, value in ((obj.get("metadata") or {}).get("annotations") or {}).items():
            if SKIP.match(key):
                check, _, reason = value.partition("=")
                assert re.match(r"^CKV_K8S_\d+$", check) and len(reason) > 20, f"{obj['metadata']['name']}: {value}"
                found.add((check, reason))
    return found


@pytest.mark.slow  # Checkov, an outside tool in a venv of its own, over every production stack
@pytest.mark.parametrize("stack", PRODUCTION)
def test_checkov_finds_nothing_in_production(stack, tmp_path):
    if not CHECKOV.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Checkov's venv is missing in CI: .ci/run must run tools/checkov-venv.sh")
        pytest.skip("Checkov's own venv is missing: run tools/checkov-venv.sh (.ci/run does)")
    (tmp_path / "manifests.yaml").write_text(yaml.safe_dump_all(kubernetes_objects(plan_of(stack)), sort_keys=False))
    result = subprocess.run(
        [str(CHECKOV), "-f", "manifests.yaml", "--framework", "kubernetes", "-o", "json", "--quiet", "--compact",
         "--skip-download", "--soft-fail"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, env=os.environ | {"BC_SKIP_MAPPING": "TRUE"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [(f["check_id"], f["resource"]) for report in reports for f in report["results"]["failed_checks"]]
    assert failed == [], failed
    assert sum(report["summary"]["passed"] for report in reports) > 1000  # it really read the manifests


def test_every_suppression_has_a_reason_and_is_listed_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Checkov suppressions"):]
    found = set().union(*(_suppressions(kubernetes_objects(plan_of(stack))) for stack in PRODUCTION))
    assert found, "the production stacks carry no suppression: remove this test's README section"
    for check, reason in sorted(found):
        assert f"| {check} | {reason} |" in table, f"README does not list {check}: {reason}"
