"""The release files, read from the checkout and checked by the pure rules that use them: a promotion list
(``promote``), a sync spec (``sync``), TripleO's prepare file and image list (``prepare``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ci_tags.core.promotion import PromotionEntry, parse_promotion_file
from ci_tags.core.revisions import SyncSpec, parse_sync_file
from ci_tags.core.tripleo import ImageRequest, PrepareFile, parse_image_list, parse_prepare_file
from ci_tags.project.yamlfile import read_document


def load_promotion_file(path: Path) -> list[PromotionEntry]:
    return parse_promotion_file(read_document(path), path)


def load_sync_file(path: Path, env: Mapping[str, str] | None = None) -> SyncSpec:
    return parse_sync_file(read_document(path), path, env)


def load_prepare_file(path: Path) -> PrepareFile:
    return parse_prepare_file(read_document(path), path)


def load_image_list(path: Path) -> list[ImageRequest]:
    return parse_image_list(read_document(path), path)
