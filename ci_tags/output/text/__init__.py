"""The human renderer: one function per result type, found through one table so that only the module of the
command being run is imported. A new command adds its renderer module (or a function in one of the areas below)
and one line here."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ci_tags.output import Output
    from ci_tags.output.result import Result

# result class name -> "module in ci_tags.output.text:function"
RENDERERS: dict[str, str] = {
    "Cleaned": "janitor:cleaned",
    "Pruned": "janitor:pruned",
    "Assembled": "pipeline:assembled",
    "Built": "pipeline:built",
    "Hashed": "pipeline:hashed",
    "Planned": "pipeline:planned",
    "Retagged": "registry:retagged",
    "Slug": "names:slug",
    "TagList": "registry:tag_list",
    "Inspected": "registry:inspected",
    "Untagged": "registry:untagged",
    "ManifestsDeleted": "registry:manifests_deleted",
    "Published": "publish:published",
    "NotPublished": "publish:not_published",
    "PipelineTagsUnread": "publish:pipeline_tags_unread",
    "PromotionReport": "release:promoted",
    "MalformedPromotion": "release:malformed_promotion",
    "SyncReport": "release:synced",
    "PrepareReport": "release:prepared",
}


def render_text(result: Result, out: Output) -> None:
    module, _, function = RENDERERS[type(result).__name__].partition(":")
    getattr(importlib.import_module(f"ci_tags.output.text.{module}"), function)(result, out)
