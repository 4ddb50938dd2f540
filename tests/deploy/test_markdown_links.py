"""Every relative link of the README and of docs/ leads to an existing file and heading."""

from __future__ import annotations

from pathlib import Path

import pytest

from .markdown_links import anchors, broken_links
from .packaging import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_readme_links_every_docs_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    unlinked = [page.name for page in PAGES[1:] if f"(docs/{page.name}" not in readme]
    assert unlinked == []


def test_anchors_are_made_as_github_makes_them() -> None:
    text = "# Stores: SQLite, memory, Azure Storage\n## host.json settings\n## Notes\n## Notes\n"

    assert anchors(text) == {"stores-sqlite-memory-azure-storage", "hostjson-settings", "notes", "notes-1"}


def test_a_missing_file_or_heading_is_reported(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Present\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Top\n[ok](other.md#present) [self](#top) [web](https://example.com/x#y) `[code](nowhere.md)`\n"
        "[gone](missing.md) [wrong](other.md#absent) [here](#nothing)\n"
        "```\n[in a block](nowhere.md)\n```\n",
        encoding="utf-8",
    )

    assert broken_links(page) == [
        "page.md: missing.md (no such file)",
        "page.md: other.md#absent (no heading #absent in other.md)",
        "page.md: #nothing (no heading #nothing in page.md)",
    ]
