"""A served process keeps start-up's objects out of the collector's full passes
(service.heap); an app built in a test process freezes nothing."""

from __future__ import annotations

import gc

from service.app import create_app
from service.config import Settings
from service.heap import settle


async def test_a_served_app_freezes_what_start_up_made(settings: Settings) -> None:
    app = create_app(settings, settle_heap=True)
    try:
        async with app.router.lifespan_context(app):
            # Modules, routes and mappers: far more than anything a request makes.
            assert gc.get_freeze_count() > 10_000
            assert app.state.ready
    finally:
        gc.unfreeze()


async def test_an_app_built_in_a_test_process_freezes_nothing(settings: Settings) -> None:
    before = gc.get_freeze_count()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() == before


def test_what_is_made_after_settling_is_still_collected() -> None:
    class Node:
        other: object = None

    try:
        frozen = settle()
        assert frozen == gc.get_freeze_count() > 0
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: only the collector frees it
        del a, b
        assert gc.collect() >= 2
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
