"""A mock resource monitor that keeps every registration the program makes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from pulumi.runtime.mocks import MockMonitor

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
        registration = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent if request.parent and request.parent != self.stack_urn else None,
            custom=bool(request.custom),
            inputs=json_format.MessageToDict(request.object),
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            depends_on=sorted(set(request.dependencies)),
            aliases=[json_format.MessageToDict(alias) for alias in request.aliases],
        )
        self.registrations.append(registration)
        self._by_urn[registration.urn] = registration
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802 - gRPC method name
        outputs = json_format.MessageToDict(request.outputs)
        if request.urn == self.stack_urn:
            self.stack_outputs = outputs
        elif request.urn in self._by_urn:
            self._by_urn[request.urn].outputs = outputs
        return super().RegisterResourceOutputs(request)
