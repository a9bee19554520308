"""An import-linter contract that import-linter lacks: no import cycle among any modules of
the project, whatever package they are in (``acyclic_siblings`` checks siblings only).

Used by ``lint-imports`` (``[tool.importlinter]`` in ``pyproject.toml``), which CI runs.
Every import counts, function-local ones included: an import moved into a function still
makes a cycle. ``docs/architecture.md`` explains the layers.
"""

from __future__ import annotations

import sys

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def strongly_connected(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """The groups of ``modules`` that import each other in a circle (Tarjan's algorithm,
    iterative), each sorted; modules in no cycle are left out."""
    edges = {
        module: sorted(
            imported
            for imported in graph.find_modules_directly_imported_by(module)
            if imported in modules
        )
        for module in modules
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if position < len(targets):
                work.append((node, position + 1))
                target = targets[position]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in edges[node]:
                    groups.append(sorted(group))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(groups)


class AcyclicContract(Contract):
    """No module of ``packages`` takes part in an import cycle.

    Options: ``packages`` (the project's top-level packages), ``exclude`` (module
    expressions left out, e.g. migrations).
    """

    type_name = "acyclic"

    packages = fields.ListField(subfield=fields.StringField())
    exclude = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        excluded = tuple(self.exclude or ())  # type: ignore[arg-type]
        modules = {
            module
            for package in self.packages  # type: ignore[attr-defined]
            for module in graph.find_descendants(package) | {package}
            if not any(part in module.split(".") for part in excluded)
        }
        cycles = strongly_connected(graph, modules)
        return ContractCheck(kept=not cycles, warnings=[], metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for group in check.metadata["cycles"]:
            output.print_error(f"Import cycle among {len(group)} modules:")
            for module in group:
                output.print_error(f"  {module}", bold=False)
            output.new_line()


if __name__ == "__main__":  # pragma: no cover - a quick look: python -m tests.architecture
    project = grimp.build_graph(*sys.argv[1:] or ["pipeline"], include_external_packages=False)
    for cycle in strongly_connected(project, set(project.modules)):
        print(" <-> ".join(cycle))
