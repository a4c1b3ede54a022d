"""What ReportLab may read while it makes a PDF: the fonts and the app's static files only.

Paragraph markup can name a file or a URL (``<img src="...">``, ``<font face=...>``), and
ReportLab then opens it: a local path with ``open()``, anything else through its URL
opener. User text is escaped before it becomes markup (``pdf._e``), so no user can write
such a tag today; this is the second wall, for the day a builder forgets to escape. Images
the app prints (the logo, the QR code) are handed over as bytes in memory, which need no
reading at all.

ReportLab reads every file and URL through ``reportlab.lib.utils``: ``open_for_read``
tries ``open_for_read_by_name`` (a path) and then ``rlUrlRead`` (a URL), both looked up in
that module when called. ``confine`` replaces the two, process-wide, as every ReportLab
setting is, and trusts no host or URL scheme in ``rl_config`` besides. It is applied by
``pdf.register_fonts``, which every PDF builder calls before it lays anything out.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import IO

from reportlab import rl_config
from reportlab.lib import utils


class ResourceRefused(OSError):
    """A PDF tried to read a file outside the allowed directories, or a URL."""


def static_dir() -> Path:
    """The app's own static files (saas/static)."""
    return (Path(__file__).resolve().parents[2] / "static").resolve()


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def confined_opener(roots: tuple[Path, ...],
                    open_by_name: Callable[..., IO[bytes]]) -> Callable[..., IO[bytes]]:
    """``open_for_read_by_name`` that opens only files under roots (symlinks resolved)."""

    def open_for_read_by_name(name: str | os.PathLike, mode: str = "b") -> IO[bytes]:
        try:
            path = Path(os.fspath(name)).resolve()
        except (TypeError, ValueError, OSError):
            raise ResourceRefused(f"PDF resource refused: {name!r}") from None
        if not _inside(path, roots):
            raise ResourceRefused(f"PDF resource refused: {name!r} is outside the allowed"
                                  " directories")
        return open_by_name(str(path), mode)

    return open_for_read_by_name


def _no_urls(url: str, headers: dict | None = None) -> IO[bytes]:
    raise ResourceRefused(f"PDF resource refused: {url!r} (no URL is read)")


@cache
def confine(*roots: Path) -> None:
    """Let ReportLab read only files under roots, and no URL (once per process)."""
    allowed = tuple(Path(root).resolve() for root in roots)
    utils.open_for_read_by_name = confined_opener(allowed, utils.open_for_read_by_name)
    utils.rlUrlRead = _no_urls
    rl_config.trustedHosts = None
    rl_config.trustedSchemes = []
