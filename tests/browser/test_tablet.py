"""The main pages on a tablet held upright (820 × 1180, an iPad's viewport) and on a small
laptop: nothing wider than the screen (wide tables scroll inside their own card), and the
menu reachable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import import_playwright

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect

PAGES = ["/", "/classes", "/bank", "/worksheets", "/worksheets/new", "/uploads", "/review",
         "/results", "/errorbooks", "/devices"]
# How far the page is wider than the window (0 when nothing sticks out).
_OVERFLOW_JS = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.mark.parametrize("size", [(820, 1180), (1024, 768)], ids=["tablet", "small-laptop"])
def test_main_pages_fit_the_screen(teacher: Page, size: tuple[int, int]) -> None:
    teacher.set_viewport_size({"width": size[0], "height": size[1]})
    paths = list(PAGES)
    teacher.goto("/results")  # a worksheet's results too, when another test made one
    opened = teacher.get_by_test_id("results-open")
    if opened.count():
        paths.append(opened.first.get_attribute("href") or "/results")
    for path in paths:
        teacher.goto(path)
        expect(teacher.get_by_test_id("nav")).to_be_visible()
        overflow = teacher.evaluate(_OVERFLOW_JS)
        assert overflow <= 0, f"{path} is {overflow} px wider than a {size[0]} px screen"
