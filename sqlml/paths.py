"""Paths that users write in SQL (model_path, EXPORT MODEL's uri), checked before any file call.

The operating system's own refusals (``embedded null byte``, ``File name too long``, a permission
denied) would otherwise surface as bare ``ValueError`` / ``OSError``; here they become errors that
name the option, the path and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlml.errors import OperationalError, OptionError

#: Longest file or folder name most file systems accept (ext4, XFS, APFS, NTFS: 255 bytes).
NAME_MAX = 255
#: Longest path Linux accepts in one call.
PATH_MAX = 4096


def user_path(text: str, what: str) -> Path:
    """``text`` as a Path, refused with an OptionError naming ``what`` if no file system takes it."""
    shown = text if len(text) <= 120 else text[:100] + "…" + text[-15:]
    if "\x00" in text:
        raise OptionError(f"{what} {shown!r} contains a NUL character, which no path can hold.")
    try:
        encoded = os.fsencode(text)
    except UnicodeEncodeError as exc:  # a lone surrogate such as '\ud800': no valid text
        raise OptionError(
            f"{what} {shown!r} has a character the file system cannot encode "
            f"({text[exc.start : exc.end]!r} at position {exc.start}); write the path in valid "
            f"Unicode."
        ) from None
    if len(encoded) > PATH_MAX:
        raise OptionError(
            f"{what} is {len(encoded):,} bytes long, over the {PATH_MAX:,}-byte limit of a path."
        )
    for part in Path(text).parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise OptionError(
                f"{what} {shown!r} has a file or folder name of {len(os.fsencode(part)):,} bytes, "
                f"over the {NAME_MAX}-byte limit of file systems; shorten it."
            )
    return Path(text).expanduser()


@contextmanager
def file_errors(what: str, path: Path | str) -> Iterator[None]:
    """The operating system's refusal of a file operation, as an OperationalError that says which
    file and why (permission denied, disk full, a read-only file system, …)."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OperationalError(f"{what} {str(path)!r} failed: {reason}.") from exc
