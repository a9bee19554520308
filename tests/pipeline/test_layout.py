"""The README's "Project layout" section tells the truth about the tree.

Read from the README, never repeated here: every path in the first column of the layout
table exists, and the app file table is true in both directions — ✓ (or the package form
it names) exists, — does not. When an app gains or loses a file, the README changes, not
this test.
"""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SECTION = "## Project layout"
BACKTICKED = re.compile(r"`([^`\n]+)`")
PRESENT, ABSENT = "✓", "—"

#: Paths the README already describes in the layout they are moving to. Each must fail
#: today (strict), so the mark is removed as soon as the move lands.
IN_FLUX: dict[str, str] = {}


def layout_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end != -1 else len(text)]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every pipe table of ``text``: (header cells, body rows of cells)."""
    found = []
    lines = text.splitlines()
    i = 0
    while i < len(lines) - 1:
        if lines[i].lstrip().startswith("|") and re.match(r"^\s*\|[\s:|-]+\|\s*$", lines[i + 1]):
            header, rows = _cells(lines[i]), []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            found.append((header, rows))
        else:
            i += 1
    return found


def table(first_column: str) -> tuple[list[str], list[list[str]]]:
    matches = [(head, rows) for head, rows in tables(layout_section()) if head[0] == first_column]
    assert len(matches) == 1, f"expected one layout table starting with {first_column!r}"
    return matches[0]


def layout_paths() -> set[str]:
    _header, rows = table("path")
    return {path for row in rows for path in BACKTICKED.findall(row[0])}


def app_files() -> tuple[set[str], set[str]]:
    """(paths the app table says exist, paths it says do not)."""
    header, rows = table("file")
    apps = [BACKTICKED.findall(cell)[0] for cell in header[1:]]
    present, absent = set(), set()
    for row in rows:
        name = BACKTICKED.findall(row[0])[0]
        assert len(row) == len(header), f"row {name} has {len(row)} cells, not {len(header)}"
        for app, cell in zip(apps, row[1:], strict=True):
            if cell == PRESENT:
                present.add(app + name)
            elif cell == ABSENT:
                absent.add(app + name)
            else:
                (form,) = BACKTICKED.findall(cell) or [cell]
                present.add(app + form)
    return present, absent


def expected_paths() -> list:
    present, _absent = app_files()
    return [
        pytest.param(
            path,
            marks=pytest.mark.xfail(strict=True, reason=IN_FLUX[path]) if path in IN_FLUX else (),
            id=path,
        )
        for path in sorted(layout_paths() | present)
    ]


def test_the_section_names_the_apps_and_points_to_the_design():
    section = layout_section()
    assert "docs/architecture.md" in section
    header, _rows = table("file")
    assert [cell.strip("`/") for cell in header[1:]] == [
        "campaigns",
        "leads",
        "scoring",
        "assignment",
        "reports",
    ]
    assert len(layout_paths()) > 20, "the layout table would prove little"


@pytest.mark.parametrize("path", expected_paths())
def test_every_path_the_readme_names_exists(path):
    target = ROOT / path
    if path.endswith("/"):
        assert target.is_dir(), f"README's project layout names {path}, which is no folder"
    else:
        assert target.is_file(), f"README's project layout names {path}, which is no file"


@pytest.mark.parametrize("path", sorted(app_files()[1]))
def test_an_app_the_readme_says_lacks_a_file_lacks_it(path):
    assert not (ROOT / path.rstrip("/")).exists(), (
        f"{path} exists, but README's app file table says the app has none: mark it ✓"
    )
