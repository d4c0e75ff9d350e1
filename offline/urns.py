"""The URNs the engine gives a stack's resources, and the URNs their aliases resolve to.

`python -m offline.urns --write dev staging prod` records each stack's URNs into tests/data/urns/<stack>.txt
(run once on the code before a refactor moves anything); tests/test_urn_stability.py checks that every
recorded URN is still declared or is an alias of the resource that replaced it, so a move never makes
Pulumi replace a resource (prod's protected ones would block the update, retained ones would be orphaned).

The mock monitor's own URNs are not the engine's: MockMonitor.make_urn (pulumi/runtime/mocks.py, 3.272)
keeps only the last segment of the parent's type and prefixes top-level resources with the Stack's type.
The engine qualifies a child's type with its parent's whole type chain and leaves the root stack out
(`urn:pulumi:<stack>::<project>::<parent type>$...$<type>::<name>`, as the SDK's own create_urn in
pulumi/runtime/resource.py builds it from a parent URN). So URNs are recomputed here from the parent links.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from offline.harness import PROJECT, ROOT, ProgramRun, run_program
from offline.mocks import Registration

URN_DIR = ROOT / "tests" / "data" / "urns"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def qualified_type(urn: str) -> str:
    """`urn:pulumi:s::p::a$b::name` -> `a$b`."""
    return urn.split("::")[2]


def make_urn(stack: str, project: str, parent_urn: str, type_: str, name: str) -> str:
    """The engine's URN of a resource (parent_urn "" or the root stack's URN: no parent)."""
    parent = qualified_type(parent_urn) if parent_urn else ""
    qualified = f"{parent}${type_}" if parent and parent != ROOT_STACK_TYPE else type_
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


class EngineUrns:
    """Engine URNs of one run's registrations, and the URNs each one's aliases stand for."""

    def __init__(self, run: ProgramRun, project: str = PROJECT):
        self.run, self.project = run, project
        self._by_mock_urn = {r.urn: r for r in run.registrations}
        self._urns: dict[int, str] = {}
        self._aliases: dict[int, frozenset[str]] = {}

    def _engine_parent(self, mock_parent_urn: str) -> str:
        parent = self._by_mock_urn.get(mock_parent_urn)
        return self.urn(parent) if parent is not None else ""  # the root stack, or no parent

    def urn(self, r: Registration) -> str:
        key = id(r)
        if key not in self._urns:
            self._urns[key] = make_urn(self.run.stack, self.project, self._engine_parent(r.parent), r.type, r.name)
        return self._urns[key]

    def all(self) -> list[str]:
        return sorted({self.urn(r) for r in self.run.registrations})

    def aliases(self, r: Registration) -> frozenset[str]:
        """The alias URNs the engine would match for `r`: its own aliases (URNs as given; specs completed
        with the resource's name, type and parent, as collapse_alias_to_urn does), and, for every alias of
        its parent, the same child under the parent's old URN (inherited_child_alias, with the
        `<parent name>-...` prefix renamed), as pulumi/runtime/resource.py all_aliases computes them."""
        key = id(r)
        if key in self._aliases:
            return self._aliases[key]
        own = set()
        for alias in r.aliases:
            if "urn" in alias:
                own.add(alias["urn"])
                continue
            if alias.get("noParent"):
                parent = ""
            elif alias.get("parentUrn"):
                parent = self._engine_parent(alias["parentUrn"])
            else:
                parent = self._engine_parent(r.parent)
            stack, project = alias.get("stack") or self.run.stack, alias.get("project") or self.project
            own.add(make_urn(stack, project, parent, alias.get("type") or r.type, alias.get("name") or r.name))
        found = set(own)
        parent = self._by_mock_urn.get(r.parent)
        if parent is not None:
            for parent_alias in self.aliases(parent):
                for name, type_ in [(r.name, r.type), *(_name_and_type(u) for u in own)]:
                    found.add(_inherited(parent_alias, parent.name, name, type_))
        self._aliases[key] = frozenset(found)
        return self._aliases[key]


def _name_and_type(urn: str) -> tuple[str, str]:
    return urn.split("::")[3], qualified_type(urn).split("$")[-1]


def _inherited(parent_alias: str, parent_name: str, child_name: str, child_type: str) -> str:
    name = child_name
    if child_name.startswith(parent_name):
        name = parent_alias[parent_alias.rfind("::") + 2 :] + child_name[len(parent_name) :]
    return f"{parent_alias[: parent_alias.rfind('::')]}${child_type}::{name}"


def missing(recorded: Iterable[str], run: ProgramRun) -> list[str]:
    """Recorded URNs that the run neither declares nor aliases: resources a deployment would replace."""
    engine = EngineUrns(run)
    covered = set(engine.all())
    for r in run.registrations:
        covered |= engine.aliases(r)
    return sorted(set(recorded) - covered)


def write_baseline(stack: str, directory: Path = URN_DIR) -> Path:
    path = directory / f"{stack}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(EngineUrns(run_program(stack)).all()) + "\n")
    return path


def read_baseline(stack: str, directory: Path = URN_DIR) -> list[str]:
    return [line for line in (directory / f"{stack}.txt").read_text().splitlines() if line]


def recorded_stacks(directory: Path = URN_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.txt"))


def main() -> None:
    parser = argparse.ArgumentParser(description="The engine URNs of a stack's resources.")
    parser.add_argument("stacks", nargs="+")
    parser.add_argument("--write", action="store_true", help="record them under tests/data/urns/")
    options = parser.parse_args()
    for stack in options.stacks:
        if options.write:
            print(write_baseline(stack).relative_to(ROOT))
        else:
            print("\n".join(EngineUrns(run_program(stack)).all()))


if __name__ == "__main__":
    main()
