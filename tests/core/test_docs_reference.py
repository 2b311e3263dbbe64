"""The references generated from the code (CLI, configuration, provider options, prices, finding codes) are committed
in docs/, so they read the same outside `make docs`; this keeps them current."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_reference", DOCS / "gen_config_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_references_match_the_code() -> None:
    stale = generator().stale_files(DOCS)
    assert not stale, (
        "generated docs are out of date: run `python docs/gen_config_reference.py --write` "
        f"({', '.join(str(p.relative_to(ROOT)) for p in stale)})"
    )


def test_every_reference_section_has_content() -> None:
    gen = generator()
    for page in ("cli.md", "providers/openai.md", "providers/azure.md", "providers/autotrain.md", "providers/local.md"):
        text = (DOCS / page).read_text(encoding="utf-8")
        blocks = list(gen.BLOCK.finditer(text))
        assert blocks, page
        for block in blocks:
            body = block.group("body") or ""
            assert body.count("\n|") >= 3, f"{page}: {block.group(0)[:60]} renders no table"
    assert "tunekit show RUN" in (DOCS / "cli.md").read_text(encoding="utf-8")


def test_every_page_the_site_links_exists() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for target in re.findall(r":\s*([\w./-]+\.md)\s*$", nav, re.M):
        assert (DOCS / target).is_file(), target
    for page in DOCS.rglob("*.md"):
        for link in re.findall(r"\]\(([\w./-]+\.md)(?:#[\w-]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / link).resolve().is_file(), f"{page.relative_to(ROOT)} links {link}"
