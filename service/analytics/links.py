"""The link from a figure to the answers behind it.

Every figure in the analytics carries the API path of the drill-down that lists exactly the
answers it was computed from; the pages link the same query under ``/analytics/answers``.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote_plus

__all__ = ["API_ANSWERS", "WEB_ANSWERS", "answers_url", "id_set", "web_url"]

API_ANSWERS = "/api/v1/analytics/answers"
WEB_ANSWERS = "/analytics/answers"


def answers_url(**filters: str | int | None) -> str:
    """The drill-down's API path for these filters (None values are left out).

    Args:
        filters: ``class_id``, ``worksheet_id``, ``student_id``, ``question``, ``kp``,
            ``week``, ``answer``, ``verdict``, ``entries``, ``entry_id``, ``students`` (a
            comma-separated set: :func:`id_set`).

    Returns:
        ``/api/v1/analytics/answers?...`` with the filters in a stable order.
    """
    # Built by hand rather than with urlencode: a class page makes hundreds of these.
    return API_ANSWERS + "?" + "&".join(f"{k}={quote_plus(str(v))}"
                                         for k, v in filters.items() if v is not None)


def id_set(ids: Iterable[int]) -> str:
    """Ids as the ``students`` filter writes them: sorted, comma-separated."""
    return ",".join(str(i) for i in sorted(ids))


def web_url(api_url: str) -> str:
    """The page showing the same answers as an API drill-down path."""
    return WEB_ANSWERS + api_url[len(API_ANSWERS):] if api_url.startswith(API_ANSWERS) \
        else api_url
