"""Pulumi.yaml against Pulumi's own project schema, and the program it points to."""

from __future__ import annotations

import json

import jsonschema
import yaml

from tests.conftest import CONTRACTS, ROOT


def test_pulumi_yaml_is_valid_against_the_project_schema():
    schema = json.loads((CONTRACTS / "pulumi" / "project.json").read_text())
    document = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["name"] == "odoo-platform"
    assert document["runtime"]["name"] == "python"
    assert document["runtime"]["options"]["virtualenv"] == ".venv"
    assert document["stackConfigDir"] == "stacks"
    assert (ROOT / document["main"] / "__main__.py").is_file()


def test_every_stack_file_is_under_the_stack_config_dir(project):
    assert "dev" in project.stack_names()
    for name in project.stack_names():
        document = yaml.safe_load(project.stack_file(name).read_text())
        assert all(key.startswith(("odoo-platform:", "azure-native:", "aws:", "kubernetes:")) for key in document["config"])


def test_the_delivery_project_is_valid_and_shares_the_virtualenv():
    schema = json.loads((CONTRACTS / "pulumi" / "project.json").read_text())
    delivery = ROOT / "stacks" / "delivery"
    document = yaml.safe_load((delivery / "Pulumi.yaml").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    assert (delivery / document["runtime"]["options"]["virtualenv"]).resolve() == (ROOT / ".venv").resolve()
    assert (delivery / document["main"] / "__main__.py").is_file()
    for stack_file in delivery.glob("Pulumi.*.yaml"):
        if stack_file.name != "Pulumi.yaml":
            config = yaml.safe_load(stack_file.read_text())["config"]
            assert all(key.startswith(("odoo-delivery:", "azuredevops:")) for key in config), stack_file.name
