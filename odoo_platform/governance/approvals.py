"""Approval matrix and separation of duties: who must approve a change of each risk class."""

from __future__ import annotations

from dataclasses import dataclass, field

from odoo_platform.governance.diff import Risk

DEFAULT_MATRIX: dict[Risk, tuple[str, ...]] = {
    Risk.LOW: ("peer-reviewer",),
    Risk.MEDIUM: ("platform-lead",),
    Risk.HIGH: ("platform-lead", "change-board"),
    Risk.CRITICAL: ("change-board", "service-owner"),
}


@dataclass(frozen=True)
class Approval:
    name: str
    role: str


@dataclass
class ApprovalCheck:
    risk: str
    required_roles: list[str]
    author: str
    approvals: list[Approval]
    missing_roles: list[str] = field(default_factory=list)
    self_approvals: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing_roles and not self.self_approvals


def parse_approver(text: str) -> Approval:
    name, _, role = text.partition(":")
    if not name or not role:
        raise ValueError(f"--approver: {text!r} is not NAME:ROLE (for example alice@example.com:change-board)")
    return Approval(name=name, role=role)


def check_approvals(risk: Risk | None, author: str, approvals: list[Approval]) -> ApprovalCheck:
    required = list(DEFAULT_MATRIX[risk]) if risk else []
    independent = [a for a in approvals if a.name != author]
    covered = {a.role for a in independent}
    return ApprovalCheck(
        risk=risk.label if risk else "none",
        required_roles=required,
        author=author,
        approvals=approvals,
        missing_roles=[role for role in required if role not in covered],
        # Separation of duties: the author's own approval never counts, and is flagged.
        self_approvals=sorted({a.role for a in approvals if a.name == author}),
    )
