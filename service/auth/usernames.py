"""Usernames: case-insensitive, stored in lower case, a conservative character set."""

from __future__ import annotations

import re

__all__ = ["USERNAME_RULE", "is_valid_username", "normalise_username"]

USERNAME_RULE = ("a username is 2-64 letters, digits or . _ @ - (starting with a letter or "
                 "digit)")
_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")


def normalise_username(username: str) -> str:
    """The stored and compared form: trimmed, lower case."""
    return username.strip().lower()


def is_valid_username(username: str) -> bool:
    """Whether a normalised username follows :data:`USERNAME_RULE`."""
    return _PATTERN.fullmatch(username) is not None
