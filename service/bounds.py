"""Values the database cannot hold are the caller's error, found before any query.

Ids are 32-bit integers in the schema (PostgreSQL ``integer``; SQLite takes 64 bits but
the two must answer alike), and text columns cannot hold a NUL character on PostgreSQL. An
id past that range in a path is an object that does not exist (404); in a query string it
is an invalid parameter (422). A value that still reaches the database and is refused there
(a NUL byte in a name, a huge number inside a JSON body) is turned into the same 422 by
:func:`bad_value`, so no input can make a 500.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.exc import DBAPIError

from service.errors import InvalidInput, NotFound

__all__ = ["MAX_ID", "bad_value", "ids_fit"]

MAX_ID = 2**31 - 1
# The driver's names for "this value cannot be stored" (asyncpg raises its DataError on the
# client side, before PostgreSQL sees the value; sqlite3 an OverflowError).
_VALUE_ERRORS = ("DataError", "CharacterNotInRepertoireError", "UntranslatableCharacterError",
                 "NumericValueOutOfRangeError", "OverflowError")


def _too_big(value: str) -> bool:
    text = value.strip()
    return text.lstrip("+-").isdigit() and not -MAX_ID - 1 <= int(text) <= MAX_ID


async def ids_fit(request: Request) -> None:
    """An app-wide dependency: refuse ids that no row can have.

    Raises:
        NotFound: a path id out of range.
        InvalidInput: a query-string id out of range.
    """
    for name, value in request.path_params.items():
        if name.endswith("id") and isinstance(value, str) and _too_big(value):
            raise NotFound(f"no such {name.removesuffix('_id') or 'object'} ({value})")
    for name, value in request.query_params.multi_items():
        if (name == "id" or name.endswith("_id")) and _too_big(value):
            raise InvalidInput(f"{name}: {value} is out of range (at most {MAX_ID})",
                               error="validation_error")


def bad_value(exc: BaseException) -> InvalidInput | None:
    """The 422 for a value the database refused, or None when ``exc`` is something else."""
    chain: list[BaseException] = [exc]
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        chain += [exc.orig, *(c for c in (exc.orig.__cause__,) if c is not None)]
    for err in chain:
        state = str(getattr(err, "sqlstate", "") or "")
        if type(err).__name__ in _VALUE_ERRORS or state.startswith("22"):
            # The message names neither the statement nor its values (a child's name).
            return InvalidInput("a value in the request cannot be stored (a number out of "
                                "range, or a NUL character in a text)", error="validation_error")
    return None
