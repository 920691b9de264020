"""The delivery stack against the documented argument conflicts of the providers' SDKs.

Mocks accept any combination of arguments, so an offline plan can hold a resource the provider
refuses (`ado.Group(scope=..., origin_id=...)` did). The bridged SDKs document each Terraform
`ConflictsWith` in their argument docs ("Conflicts with `x`", "The `a` and `b` arguments cannot be
used simultaneously with `x`"), for top-level arguments and for nested blocks; every resource of the
plan is checked against them.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import re

import pytest

from tests.test_delivery import _delivery_plan

SDKS = {"azuredevops": "pulumi_azuredevops", "aws": "pulumi_aws"}
PARAM = re.compile(r":param [^\n]*?\b(\w+): (.*?)(?=\n\s*:param|\n\s*\"\"\"|\Z)", re.S)
CONFLICTS_WITH = re.compile(r"Conflicts? with ((?:`\w+`(?:,\s*|\s+and\s+|\s+or\s+)?)+)")
SIMULTANEOUSLY = re.compile(r"((?:`\w+`(?:,\s*|\s+and\s+)?)+) arguments? cannot be used simultaneously with `(\w+)`")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"_|(?=[A-Z])", name) if part)


def conflicts_in(doc: str) -> set[frozenset[str]]:
    """Pairs of arguments a docstring says cannot be set together."""
    pairs: set[frozenset[str]] = set()
    for name, text in PARAM.findall(doc):
        for match in CONFLICTS_WITH.finditer(text):
            pairs |= {frozenset((name, other)) for other in re.findall(r"`(\w+)`", match.group(1)) if other != name}
        for match in SIMULTANEOUSLY.finditer(text):
            pairs |= {frozenset((other, match.group(2))) for other in re.findall(r"`(\w+)`", match.group(1))}
    return pairs


@functools.cache
def _args_doc(sdk: str, class_name: str) -> str:
    """The argument docs of a resource (its Args class) or of a nested block's Args class."""
    package = importlib.import_module(sdk)
    for module_name in [sdk, *(f"{sdk}.{m}" for m in getattr(package, "__all__", []) or [])]:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found = getattr(module, class_name, None)
        if inspect.isclass(found):
            return inspect.getsource(found)
    return ""


def _module_of(token: str) -> tuple[str, str, str]:
    """`azuredevops:index/group:Group` -> (pulumi_azuredevops, pulumi_azuredevops, Group)."""
    provider, middle, name = token.split(":")
    sdk = SDKS[provider]
    area = middle.split("/")[0]
    return sdk, sdk if area == "index" else f"{sdk}.{area}", name


def violations(resource: dict) -> list[str]:
    sdk, module_name, name = _module_of(resource["type"])
    module = importlib.import_module(module_name)
    found = []

    def check(doc: str, inputs: dict, where: str) -> None:
        present = {_snake(key) for key, value in inputs.items() if value is not None}
        for pair in conflicts_in(doc):
            if pair <= present:
                found.append(f"{resource['name']}{where}: {' and '.join(sorted(pair))} conflict")

    def walk(prefix: str, inputs: dict, where: str) -> None:
        for key, value in inputs.items():
            blocks = value if isinstance(value, list) else [value]
            for index, block in enumerate(blocks):
                if isinstance(block, dict):
                    # Lists of blocks are named in the plural (`scopes`), their Args class in the singular.
                    nested = next((n for n in (f"{prefix}{_pascal(key)}", f"{prefix}{_pascal(key).removesuffix('s')}")
                                   if _args_doc(sdk, n + "Args")), None)
                    if nested is None:
                        # Only a map (tags) has no Args class; a block whose docs are not found must not pass unchecked.
                        assert all(not isinstance(v, (dict, list)) for v in block.values()), f"{resource['type']}: {key}?"
                        continue
                    check(_args_doc(sdk, nested + "Args"), block, f"{where}.{key}[{index}]")
                    walk(nested, block, f"{where}.{key}[{index}]")

    check(inspect.getsource(getattr(module, name + "Args")), resource["inputs"], "")
    walk(name, resource["inputs"], "")
    return found


def _checked(plan: dict) -> list[dict]:
    return [r for r in plan["resources"] if r["type"].split(":")[0] in SDKS and not r["type"].startswith("pulumi:")]


def test_the_parser_reads_the_sdks_documented_conflicts():
    from pulumi_azuredevops import group

    assert frozenset(("origin_id", "scope")) in conflicts_in(inspect.getsource(group.GroupArgs))
    assert frozenset(("mail", "display_name")) in conflicts_in(inspect.getsource(group.GroupArgs))
    assert frozenset(("url", "github_enterprise_url")) in conflicts_in(
        _args_doc("pulumi_azuredevops", "BuildDefinitionRepositoryArgs"))


def test_no_resource_of_the_delivery_stack_sets_arguments_its_provider_refuses_together():
    plan = json.loads(_delivery_plan())
    resources = _checked(plan)
    assert {r["type"].split(":")[0] for r in resources} == {"azuredevops", "aws"}
    assert [v for r in resources for v in violations(r)] == []


@pytest.mark.parametrize(("resource", "expected"), [
    ({"type": "azuredevops:index/group:Group", "name": "change-board",
      "inputs": {"scope": "project-id", "originId": "5b0e1c4e-2f8a-4d6e-9a3b-7c1d2e3f4a5b"}},
     ["change-board: origin_id and scope conflict"]),
    ({"type": "azuredevops:index/buildDefinition:BuildDefinition", "name": "delivery",
      "inputs": {"repository": {"repoType": "Git", "url": "https://x", "githubEnterpriseUrl": "https://y"}}},
     ["delivery.repository[0]: github_enterprise_url and url conflict"]),
])
def test_a_conflicting_resource_is_caught(resource, expected):
    assert violations(resource) == expected
