"""The documentation: generated pages are current, links resolve inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

from tools import gen_reference

from tests.conftest import ROOT

LINK = re.compile(r"\]\(([^)\s]+)\)")


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_the_generated_references_match_the_current_code() -> None:
    for target, build in gen_reference.PAGES.items():
        committed = target.read_text(encoding="utf-8")
        assert committed == build(), (
            f"{target.relative_to(ROOT)} is stale: run `make docs` and commit the result"
        )


def test_every_setting_is_in_the_reference() -> None:
    from eureka.server.config import setting_key, setting_paths

    page = gen_reference.TARGET.read_text(encoding="utf-8")
    for path in setting_paths():
        assert f"`{setting_key(path)}`" in page, path


def test_links_stay_inside_the_repository_and_resolve() -> None:
    for page in _pages():
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            assert not re.match(r"[a-z]+://", target), f"{page.name} links outside: {target}"
            file = target.split("#", 1)[0]
            if file:
                assert (page.parent / file).exists(), f"{page.name}: broken link {target}"
