"""Costly reads answered from memory while nothing they show has changed.

A worksheet's results, a class's roster and its progress are rebuilt from thousands of
rows (a class of 200: 1,600 answers, about 0.2 s of one core), and a morning of teachers
watching their classes reads them many times a minute while they change a few times.
:func:`cached_json` keeps the JSON body of such an answer in this process, under the
request's path and query, the caller, and the data generation it was built at
(:mod:`service.db.generation`); the next identical request at the same generation gets the
same bytes after one one-row query. Any committed edit to what the read shows moves the
generation on, in every process, so an answer is never older than the caller's own last
edit, nor than anyone's, nor than the end of any job.

The pages a running job stores move the generation on too, but a kept answer may stay
``jobs.results_refresh_s`` seconds behind them (unless an edit came since): a class of
teachers watching a job's results would otherwise rebuild them once for every page graded,
each rebuild costing as much as a page's storing, on the cores that read the pages.

Requests that miss at the same moment for the same answer wait for one build rather than
each building it (a class of teachers refreshing as a page is graded would otherwise
rebuild it once each); a waiter whose builder failed builds it itself, so an error reaches
each caller as its own.

The caller's access is still checked on every request by the route's own dependencies;
the key carries the caller, so one teacher is never handed what was built for another.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db.generation import Generation, current_generation

__all__ = ["MAX_BYTES", "ReadCache", "cached_json"]

# Memory one web process may spend on kept answers (a class of 200's results is ~0.6 MB).
MAX_BYTES = 64 * 1024 * 1024
_Key = tuple[Any, ...]


class _Kept(NamedTuple):
    generation: Generation
    read_at: float  # when that generation was read (time.monotonic), before building
    body: bytes


class ReadCache:
    """JSON bodies by key, each with the generation it was built at; least recently used
    ones go first once ``max_bytes`` is reached.

    Args:
        max_bytes: the memory kept answers may take.
        lag_s: how long an answer may be served after a running job's pages moved the
            generation on (no edit since); 0 serves only answers of the current generation.
    """

    def __init__(self, max_bytes: int = MAX_BYTES, lag_s: float = 0.0) -> None:
        self.max_bytes = max_bytes
        self.lag_s = lag_s
        self._entries: OrderedDict[_Key, _Kept] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        # (key, generation) -> the body one request is building now.
        self.building: dict[tuple[_Key, int], asyncio.Future[bytes]] = {}

    def get(self, key: _Key, generation: Generation) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if found.generation.n != generation.n and not (
                found.generation.edits == generation.edits
                and time.monotonic() - found.read_at <= self.lag_s):
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found.body

    def put(self, key: _Key, generation: Generation, read_at: float, body: bytes) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        if old is not None and old.generation.n > generation.n:
            # A slower request built an older answer after a newer one was kept: keep that.
            self._entries[key] = old
            self._bytes += len(old.body)
            return
        if len(body) > self.max_bytes // 4:
            return  # one huge answer would push everything else out
        self._entries[key] = _Kept(generation, read_at, body)
        self._bytes += len(body)
        while self._bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped.body)


def _cache(request: Request) -> ReadCache:
    cache: ReadCache | None = getattr(request.app.state, "read_cache", None)
    if cache is None:
        settings = getattr(request.app.state, "settings", None)
        lag = settings.jobs.results_refresh_s if settings is not None else 0.0
        cache = request.app.state.read_cache = ReadCache(lag_s=lag)
    return cache


async def cached_json(request: Request, session: AsyncSession, actor: Actor,
                      build: Callable[[], Awaitable[BaseModel]]) -> Response:
    """The JSON answer ``build`` makes, or the one it made before at this generation.

    Args:
        request: the request (its path and query are the key, with the caller).
        session: the request's unit of work (the generation is read through it first, so
            what ``build`` reads is at least as new).
        actor: the caller, already authorised for this read.
        build: makes the answer; any error it raises goes out as it would uncached.
    """
    read_at = time.monotonic()
    generation = await current_generation(session)
    key = (request.url.path, request.url.query, actor.teacher_id, actor.is_admin, actor.kind)
    cache = _cache(request)
    if generation is None:  # no generation to check against: never kept
        model = await build()
        return _json(type(model).__pydantic_serializer__.to_json(model))
    body = cache.get(key, generation)
    if body is not None:
        return _json(body)
    pending = cache.building.get((key, generation.n))
    if pending is not None:
        try:
            return _json(await asyncio.shield(pending))
        except Exception:  # the builder failed: build it here, to meet the error as ours
            pass
    return _json(await _build(cache, key, generation, read_at, build))


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


async def _build(cache: ReadCache, key: _Key, generation: Generation, read_at: float,
                 build: Callable[[], Awaitable[BaseModel]]) -> bytes:
    done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    # Nobody may be waiting: an unread failure must not be reported as one.
    done.add_done_callback(lambda f: f.cancelled() or f.exception())
    building = (key, generation.n)
    cache.building.setdefault(building, done)
    try:
        model = await build()
        body = type(model).__pydantic_serializer__.to_json(model)
    except BaseException as exc:
        done.set_exception(exc if isinstance(exc, Exception) else RuntimeError("abandoned"))
        raise
    else:
        done.set_result(body)
        cache.put(key, generation, read_at, body)
        return body
    finally:
        if cache.building.get(building) is done:
            del cache.building[building]
