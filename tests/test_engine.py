"""The offline engine waits for the program's RPCs and outputs as the SDK does, in linear time."""

from __future__ import annotations

import inspect

from pulumi.runtime import stack as sdk_stack

from odoo_platform.offline import engine
from odoo_platform.offline.plan import build_plan
from odoo_platform.offline.stackfiles import read_stack_config
from tests.conftest import estate, write_stack


def test_the_engines_wait_records_exactly_what_the_sdks_wait_records(project, tmp_path, monkeypatch):
    config = read_stack_config(project, write_stack(tmp_path / "Pulumi.t.yaml", estate(tenants=[
        {"name": "acme", "tier": 1, "users": 40, "hostname": "acme.erp.example.com"}])))
    sdk_wait = sdk_stack.wait_for_rpcs
    ours = build_plan(engine.run_program(project, "t", config, region="westeurope"), config)
    assert sdk_stack.wait_for_rpcs is sdk_wait  # the SDK's own is back after a run
    # The SDK's own loop, in place of ours: the plan must not change by a byte.
    monkeypatch.setattr(engine, "_wait_for_rpcs", sdk_wait)
    theirs = build_plan(engine.run_program(project, "t", config, region="westeurope"), config)
    assert ours == theirs and len(ours["resources"]) > 100


def test_the_replaced_sdk_function_keeps_its_signature():
    # An SDK upgrade that renames or changes the function must be looked at again (see engine._wait_for_rpcs).
    def parameters(function):
        return [(p.name, p.default) for p in inspect.signature(function).parameters.values()]

    assert parameters(sdk_stack.wait_for_rpcs) == parameters(engine._wait_for_rpcs)
    assert "FIRST_COMPLETED" in inspect.getsource(sdk_stack.wait_for_rpcs)
