"""What the job runner hands a page worker, made cheap to send.

A page image is a few megabytes (an A4 scan at 200 dpi is 1654×2339 grey pixels) and a
job's worksheets (layout, keys, roster) about a hundred kilobytes pickled. Sent with every
page, pickling them, pushing them through the pool's pipe and unpickling them again took
more of the service's CPU than storing the page's grades. So the runner sends:

* a :class:`PageRef` (the stored file's path and a page number) instead of the pixels,
  for every file :class:`~ocr.ingest.PageSource` reads (all but a ZIP): the worker reads
  the page from the stored file itself;
* the worksheets as a :class:`Parcel`: pickled once per job and change, named by their
  digest, unpickled by a worker only the first time it sees that name.

:func:`read_item` is the worker's side: it turns both back into what the page functions
(``process_page`` and the drill and template readers) take, and notes the read's time as
the page's ``ingest`` stage.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocr.ingest import IngestLimits, PageImage, PageSource

__all__ = ["PageRef", "Parcel", "pack_bundles", "read_item"]


@dataclass(frozen=True)
class PageRef:
    """Page ``index`` of the stored scan at ``path``, read with ``limits``."""

    path: str
    index: int
    limits: IngestLimits


@dataclass(frozen=True)
class Parcel:
    """A job's sanctioned worksheets, pickled once; ``key`` is the bytes' digest."""

    key: str
    data: bytes


def pack_bundles(bundles: Mapping[int, Any]) -> Parcel:
    """Pickle the worksheets (worksheet id → bundle) once for every page that follows."""
    data = pickle.dumps(dict(bundles), protocol=pickle.HIGHEST_PROTOCOL)
    return Parcel(hashlib.sha1(data, usedforsecurity=False).hexdigest(), data)


# -- in the worker ---------------------------------------------------------------------

_PARCELS_KEPT = 8  # a few jobs' worksheets: a Celery worker serves many schools' jobs
_parcels: OrderedDict[str, dict[int, Any]] = OrderedDict()
_parcels_lock = threading.Lock()  # a thread pool's workers share the module


def _unpack(parcel: Parcel) -> dict[int, Any]:
    with _parcels_lock:
        bundles = _parcels.get(parcel.key)
        if bundles is not None:
            _parcels.move_to_end(parcel.key)
            return bundles
    bundles = pickle.loads(parcel.data)  # our own runner pickled it
    with _parcels_lock:
        _parcels[parcel.key] = bundles
        while len(_parcels) > _PARCELS_KEPT:
            _parcels.popitem(last=False)
    return bundles


def _load(ref: PageRef) -> PageImage:
    # Opened for each page (about 1.5 ms for a 300-page PDF, a tenth of reading the page):
    # a worker kept no upload open between jobs, so an erased or expired file is gone
    # from the disk when it is deleted.
    source = PageSource(Path(ref.path), ref.limits)
    try:
        return source.page(ref.index)
    finally:
        source.close()


def read_item(item: PageRef | PageImage, work: Callable[..., Any], parcel: Parcel,
              *extra: Any) -> Any:
    """``work(page, bundles, *extra)`` for the page ``item`` names (read here when it is a
    :class:`PageRef`), its read time added to the result's ``ingest`` timing."""
    started = time.perf_counter()
    page = _load(item) if isinstance(item, PageRef) else item
    ingest_ms = (time.perf_counter() - started) * 1000
    result = work(page, _unpack(parcel), *extra)
    timings = getattr(result, "timings_ms", None)
    if isinstance(timings, dict) and isinstance(item, PageRef):
        result = dataclasses.replace(result, timings_ms={"ingest": ingest_ms, **timings})
    return result
