"""Safe logical names for artifacts and safe destinations when writing them out.

A logical name is a relative, ``/``-separated path inside a run's namespace. It
is checked after Unicode normalisation and repeated percent-decoding, so that
``..``, fullwidth dots, ``%2e%2e%2f`` and their double encodings are all refused.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

from ladder.errors import UnsafePath

MAX_NAME = 1024
# Characters allowed in a logical artifact name, besides letters and digits of any script.
_ALLOWED_PUNCTUATION = set("_-. /+=@,()[]~")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def check_artifact_name(name: str, field: str = "name") -> str:
    """Return ``name`` if it is a safe logical artifact path, else raise ``UnsafePath``."""
    if not isinstance(name, str):
        raise UnsafePath(f"artifact {field}: expected a string, got {type(name).__name__}")
    reason = _unsafe_reason(name)
    if reason:
        raise UnsafePath(f"artifact {field} {name!r} refused: {reason}")
    return name


def _unsafe_reason(name: str) -> str | None:
    if not name or not name.strip():
        return "it is empty"
    if len(name) > MAX_NAME:
        return f"longer than {MAX_NAME} characters ({len(name)})"
    if unicodedata.normalize("NFKC", name) != name:
        return "it changes under Unicode normalisation (look-alike characters)"
    decoded = name
    for _ in range(5):
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
    if decoded != name:
        return "it contains percent-encoded characters"
    for char in name:
        if not (char.isalnum() or char in _ALLOWED_PUNCTUATION):
            return f"character {char!r} is not allowed (letters, digits and _-. /+=@,()[]~ are)"
    if _SCHEME.match(name):
        return "it looks like a URL"
    if name.startswith("/") or name.startswith("~"):
        return "it is absolute"
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "it has an empty, '.' or '..' path segment"
    if any(part != part.strip() for part in parts):
        return "a path segment starts or ends with a space"
    return None


def safe_destination(root: Path, name: str) -> Path:
    """Return ``root / name`` after checking it cannot land outside ``root``, symlinks included."""
    check_artifact_name(name)
    base = root.resolve()
    target = (base / name).resolve()
    if target != base and base not in target.parents:
        raise UnsafePath(f"artifact name {name!r} resolves outside the destination {base}")
    return target


def is_within(path: Path, root: Path) -> bool:
    """True when ``path`` (symlinks resolved) lies inside ``root``."""
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    return real == real_root or real_root in real.parents
