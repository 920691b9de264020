"""A mock resource monitor that keeps every registration the program makes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from pulumi.runtime.mocks import MockMonitor

from odoo_platform import progress

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool
    depends_on: list[str]
    aliases: list[Any]
    outputs: dict[str, Any] = field(default_factory=dict)


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: Any) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.stack_urn: str | None = None
        self.stack_outputs: dict[str, Any] = {}
        self._by_urn: dict[str, Registration] = {}

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            self.stack_urn = response.urn
            return response
        self._record(response.urn, request, custom=bool(request.custom), inputs=request.object,
                     protect=bool(request.protect), retain_on_delete=bool(request.retainOnDelete),
                     aliases=[json_format.MessageToDict(alias) for alias in request.aliases])
        return response

    def ReadResource(self, request):  # noqa: N802 - gRPC method name
        # Reads (a StackReference to the foundation stack) are part of what a stack depends on.
        response = super().ReadResource(request)
        self._record(response.urn, request, custom=True, inputs=request.properties, protect=False,
                     retain_on_delete=False, aliases=[])
        return response

    def _record(self, urn: str, request: Any, custom: bool, inputs: Any, protect: bool, retain_on_delete: bool,
                aliases: list[Any]) -> None:
        registration = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent if request.parent and request.parent != self.stack_urn else None,
            custom=custom,
            inputs=json_format.MessageToDict(inputs),
            protect=protect,
            retain_on_delete=retain_on_delete,
            depends_on=sorted(set(request.dependencies)),
            aliases=aliases,
        )
        self.registrations.append(registration)
        self._by_urn[urn] = registration
        progress.current().registered()

    def RegisterResourceOutputs(self, request):  # noqa: N802 - gRPC method name
        outputs = json_format.MessageToDict(request.outputs)
        if request.urn == self.stack_urn:
            self.stack_outputs = outputs
        elif request.urn in self._by_urn:
            self._by_urn[request.urn].outputs = outputs
        return super().RegisterResourceOutputs(request)
