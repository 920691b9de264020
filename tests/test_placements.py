"""Placements are sticky: no edit to one tenant, no reordering and no removal moves another tenant's database.

A property test over random edit sequences of a hybrid estate: after every accepted edit,
every tenant other than the edited one is on the server it was on before; an edit that
leaves a server without room is refused with one line naming the entry to change.
"""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from odoo_platform.config import parse_estate
from odoo_platform.errors import EstateConfigError
from odoo_platform.topology import first_fit_servers, plan_estate
from tests.conftest import estate

# 140 connections per server leave room for a handful of small tenants: servers fill up often.
SMALL_SERVERS = {"maxConnections": 190, "reservedConnections": 50}


def _tenant(number: int, users: int, dedicated: bool) -> dict:
    return {"name": f"t{number}", "tier": 2 + number % 2, "users": users, "hostname": f"t{number}.example.com",
            "isolation": "dedicated" if dedicated else "shared"}


def _document(tenants: list[dict]) -> dict:
    return estate(tenancy="hybrid", tenants=tenants, postgres=SMALL_SERVERS)


def _pinned(tenants: list[dict]) -> list[dict]:
    """Tenants as a team writes them: every shared tenant names a server with room (first fit)."""
    chosen = first_fit_servers(parse_estate(_document(tenants)))
    return [t | ({"server": chosen[t["name"]]} if t["name"] in chosen else {}) for t in tenants]


def _servers(tenants: list[dict]) -> dict[str, str]:
    plan = plan_estate(parse_estate(_document(tenants)))
    return {t.name: t.server_key for t in plan.tenants}


users = st.integers(min_value=1, max_value=60)
edits = st.one_of(
    st.tuples(st.just("users"), st.integers(0, 1000), users),
    st.tuples(st.just("isolation"), st.integers(0, 1000), st.booleans()),
    st.tuples(st.just("tier"), st.integers(0, 1000), st.integers(1, 3)),
    st.tuples(st.just("remove"), st.integers(0, 1000), st.none()),
    st.tuples(st.just("reorder"), st.integers(0, 1000), st.randoms(use_true_random=False)),
    st.tuples(st.just("append"), users, st.booleans()),
    st.tuples(st.just("move"), st.integers(0, 1000), st.integers(1, 4)),
)


def _apply(tenants: list[dict], edit: tuple, next_number: int) -> tuple[list[dict], str | None]:
    """The tenant list after one edit, and the name of the tenant whose own entry it changed."""
    kind, which, value = edit
    tenants = copy.deepcopy(tenants)
    if kind == "append":
        new = _tenant(next_number, which, value)
        tenants.append(new)
        return tenants, new["name"]
    if not tenants:
        return tenants, None
    index = which % len(tenants)
    target = tenants[index]
    if kind == "users":
        target["users"] = value
    elif kind == "isolation":
        target["isolation"] = "dedicated" if value else "shared"
        target.pop("server", None)  # a dedicated tenant names no shared server
    elif kind == "tier":
        target["tier"] = value
    elif kind == "remove" and len(tenants) > 1:  # an estate has at least one tenant
        del tenants[index]
        return tenants, None
    elif kind == "reorder":
        value.shuffle(tenants)
        return tenants, None
    elif kind == "move" and target["isolation"] == "shared":
        target["server"] = "shared" if value == 1 else f"shared-{value}"
    return tenants, target["name"]


@settings(max_examples=150, deadline=None)
@given(
    initial=st.lists(st.tuples(users, st.booleans()), min_size=1, max_size=12),
    sequence=st.lists(edits, min_size=1, max_size=12),
)
def test_no_edit_moves_another_tenant(initial, sequence):
    tenants = _pinned([_tenant(i, u, d) for i, (u, d) in enumerate(initial)])
    before = _servers(tenants)
    number = len(tenants)
    for edit in sequence:
        changed, edited = _apply(tenants, edit, number)
        number += 1
        try:
            after = _servers(changed)
        except EstateConfigError as refused:
            # A server without room is refused, naming an entry and a fix, and nothing moves.
            message = str(refused)
            assert "\n" not in message and message.startswith("tenants[")
            assert "server:" in message or "maxConnections" in message
            continue
        for name, server in after.items():
            if name != edited and name in before:
                assert server == before[name], f"{edit} moved {name} from {before[name]} to {server}"
        tenants, before = changed, after


def test_the_old_first_fit_would_have_moved_tenants():
    """The property is not vacuous: recomputing first fit on every plan moves an untouched tenant."""
    tenants = [_tenant(i, 20, False) for i in range(6)]
    before = first_fit_servers(parse_estate(_document(tenants)))
    tenants[0]["users"] = 60  # one tenant grows ...
    after = first_fit_servers(parse_estate(_document(tenants)))
    assert any(before[t] != after[t] for t in before if t != "t0")  # ... and first fit repacks others
    pinned = _pinned([_tenant(i, 20, False) for i in range(6)])
    grown = copy.deepcopy(pinned)
    grown[0]["users"] = 30
    assert {k: v for k, v in _servers(grown).items() if k != "t0"} == {
        k: v for k, v in _servers(pinned).items() if k != "t0"}
