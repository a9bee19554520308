"""The import rules CI enforces with ``lint-imports`` (contracts in ``pyproject.toml``):
the cycle finder behind the "acyclic" contract, and the project as it is."""

from __future__ import annotations

import grimp

from tests.architecture import strongly_connected

PACKAGES = ("pipeline", "campaigns", "leads", "scoring", "assignment", "reports")


def _graph(*edges: tuple[str, str]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for importer, imported in edges:
        graph.add_import(importer=importer, imported=imported)
    return graph


def test_cycle_finder_names_every_module_of_a_cycle_and_nothing_else():
    graph = _graph(("a.x", "a.y"), ("a.y", "a.z"), ("a.z", "a.x"), ("a.z", "a.w"), ("b.p", "a.x"))
    assert strongly_connected(graph, set(graph.modules)) == [["a.x", "a.y", "a.z"]]


def test_cycle_finder_finds_two_separate_cycles_and_a_long_chain_has_none():
    chain = [(f"m.n{i}", f"m.n{i + 1}") for i in range(3000)]  # no recursion limit to hit
    graph = _graph(("a.x", "a.y"), ("a.y", "a.x"), ("b.p", "b.q"), ("b.q", "b.p"), *chain)
    assert strongly_connected(graph, set(graph.modules)) == [["a.x", "a.y"], ["b.p", "b.q"]]


def test_the_project_has_no_import_cycle_function_local_imports_included():
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    modules = {m for m in graph.modules if "migrations" not in m.split(".")}
    assert strongly_connected(graph, modules) == []
