"""MkDocs hooks (mkdocs.yml ``hooks:``): the generated pages are made in every build, from the code itself.

- ``commands/*.md`` from the argparse parsers (``--help`` and the pages cannot drift);
- the tables of ``reference/config.md`` from ``ci_tags/project/config.py``;
- the per-command tables of ``reference/json.md`` (where it says ``<!-- schemas -->``) from ``schemas/``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import commands
import config_reference
from mkdocs.structure.files import File, Files

import schemas

SCHEMAS_MARK = "<!-- schemas -->"


def on_config(config: Any) -> Any:
    """The Commands section of the nav: the index, then one page per command of ``ci_tags.cli.COMMANDS``."""
    for i, entry in enumerate(config.nav or []):
        if isinstance(entry, dict) and "Commands" in entry:
            config.nav[i] = {"Commands": ["commands/index.md", *({name: f"commands/{name}.md"} for name in
                                                                 commands.cli.COMMANDS)]}
    return config


def on_files(files: Files, config: Any) -> Files:
    for path, text in commands.pages().items():
        files.append(File.generated(config, path, content=text))
    return files


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    src = page.file.src_uri
    if src == "reference/config.md":
        return config_reference.page(markdown)
    if src == "reference/json.md":
        if SCHEMAS_MARK not in markdown:
            raise ValueError(f"reference/json.md lost its {SCHEMAS_MARK} line")
        return markdown.replace(SCHEMAS_MARK, schemas.reference())
    return markdown

