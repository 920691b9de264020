"""The benchmark's baseline: the same number and kinds of resources as a plan, registered with
the bare Pulumi SDK (no components' logic, no SDK argument classes), under the same mocks."""

import json
import os

import pulumi

with open(os.environ["ODOO_PLATFORM_BASELINE"], encoding="utf-8") as source:
    registrations = json.load(source)

for resource in registrations:
    if resource["component"]:
        pulumi.ComponentResource(resource["type"], resource["name"], None)
    else:
        pulumi.CustomResource(resource["type"], resource["name"], resource["inputs"])
