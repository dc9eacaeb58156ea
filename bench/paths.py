"""Where the product's files live; each can be moved by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def tables_dir() -> Path:
    return Path(os.environ.get("MMNAS_TABLES_DIR", REPO_ROOT / "tables"))


def data_cache_dir() -> Path:
    return Path(os.environ.get("MMNAS_DATA_CACHE", REPO_ROOT / "data_cache"))


def overlay_dir() -> Path:
    """The user's overlays of trained results (``data_cache/overlay``; tests point it elsewhere)."""
    return Path(os.environ.get("MMNAS_OVERLAY_DIR", data_cache_dir() / "overlay"))


def shared_data_dir() -> Path:
    """The raw published data (``../shared/data`` beside a development checkout)."""
    return Path(os.environ.get("MMNAS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def paper_repro_dir() -> Path:
    return Path(os.environ.get("MMNAS_PAPER_REPRO", REPO_ROOT / "paper_repro"))
