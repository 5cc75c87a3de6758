"""Device keys for copiers and scanners: ``mbk_`` + 32 random bytes, url-safe base64.

The key is shown once. The database keeps its SHA-256 (a fast hash is right here: the key
has 256 bits of entropy, so unlike a password it cannot be guessed from the hash) and a
short prefix, which is not secret and finds the row with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["KEY_MARKER", "PREFIX_LENGTH", "hash_key", "key_prefix", "keys_match", "new_key"]

KEY_MARKER = "mbk_"
PREFIX_LENGTH = 12  # "mbk_" + 8 random characters (48 bits): unique in practice


def new_key() -> str:
    """A fresh device key (shown to the teacher once, never stored)."""
    return KEY_MARKER + secrets.token_urlsafe(32)


def key_prefix(key: str) -> str:
    """The non-secret prefix stored beside the hash (also shown in device lists)."""
    return key[:PREFIX_LENGTH]


def hash_key(key: str) -> str:
    """The stored form of a key: hex SHA-256."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def keys_match(key: str, stored_hash: str) -> bool:
    """Whether ``key`` hashes to ``stored_hash`` (constant-time comparison)."""
    return hmac.compare_digest(hash_key(key), stored_hash)
