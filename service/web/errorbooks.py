"""Error books (错题本) per class: one click builds the whole class's set in the background
(一键生成全班错题本) while the page shows its progress, then offers the PDF and the teacher's
key; each student's own book is one more click.

The build (:mod:`service.errorbook_builds`) calls the API's own service functions as the
teacher who clicked; its state lives in files under the data directory, so a restart
mid-build shows as interrupted with a retry button, never as building forever. The page
reloads itself every few seconds while a build runs (no script needed); the status route
answers JSON for anything that wants to poll.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from service.api.deps import SessionDep
from service.classes import list_classes
from service.config import Settings
from service.errorbook_builds import BuildStatus, ErrorBookBuilds, check_class
from service.mastery.report import class_progress
from service.schemas.common import ClassSummaryOut
from service.schemas.mastery import ClassProgressOut
from service.web.charts import percent
from service.web.deps import FormStr, FormUser, RequiredUser, see_other
from service.web.render import SECURITY_HEADERS, render

__all__ = ["ClassBooks", "builds", "router"]

router = APIRouter(include_in_schema=False)

REFRESH_SECONDS = 2


@dataclass(frozen=True)
class ClassBooks:
    """One class on the page: the class, its build, its students' entries."""

    cls: ClassSummaryOut
    build: BuildStatus
    progress: ClassProgressOut
    resolution: str


def builds(request: Request) -> ErrorBookBuilds:
    """The app's build manager (made on first use, kept in ``app.state``)."""
    state = request.app.state
    found: ErrorBookBuilds | None = getattr(state, "errorbook_builds", None)
    if found is None:
        settings: Settings = state.settings
        found = ErrorBookBuilds(settings.data_dir / "errorbooks", state.session_factory,
                                state.storage, settings.mastery, settings.school_language)
        state.errorbook_builds = found
    return found


@router.get("/errorbooks")
async def errorbooks_page(request: Request, session: SessionDep,
                          user: RequiredUser) -> Response:
    """Each of my classes: the one-click class build with its progress and downloads, and
    every student's entries with a link to their page and their own book."""
    manager = builds(request)
    classes = []
    for c in await list_classes(session, user.actor):
        progress = await class_progress(session, user.actor, c.id)
        classes.append(ClassBooks(c, manager.status(c.id), progress,
                                  percent(progress.resolution_rate)))
    building = next((c.cls.id for c in classes if c.build.state == "building"), None)
    # Reload while a build runs. The query changes each time: a refresh to the very URL
    # with its #class-N would only scroll (a same-document navigation), never reload.
    refresh = (f"{REFRESH_SECONDS}; url=/errorbooks?t={time.monotonic_ns() // 10**6}"
               f"#class-{building}") if building is not None else None
    return render(request, "errorbooks/index.html", user=user, classes=classes,
                  refresh=refresh)


@router.post("/errorbooks/classes/{class_id}/build")
async def build_class_books(class_id: int, request: Request, session: SessionDep,
                            user: FormUser, duplex: FormStr = "true"
                            ) -> Response:
    """Start building the class's error books (nothing new while a build runs);
    ``duplex=false`` (「单面：不加空白页」) builds the set without padding pages."""
    await check_class(session, user.actor, class_id)
    builds(request).start(user.actor, class_id, duplex=duplex != "false")
    return see_other(f"/errorbooks#class-{class_id}")


@router.get("/errorbooks/classes/{class_id}/status")
async def build_status(class_id: int, request: Request, session: SessionDep,
                       user: RequiredUser) -> Response:
    """The class's build status as JSON (state, students done, pages, elapsed seconds)."""
    await check_class(session, user.actor, class_id)
    return JSONResponse(builds(request).status(class_id).to_json(),
                        headers={"Cache-Control": "no-store"})


def _file(request: Request, path_of: str, class_id: int, name: str) -> Response:
    manager = builds(request)
    path = manager.pdf_path(class_id) if path_of == "books" else manager.key_path(class_id)
    if not path.is_file():  # not built yet (or no key): back to the page that builds it
        return see_other(f"/errorbooks#class-{class_id}")
    return FileResponse(path, media_type="application/pdf", filename=name,
                        headers={k: v for k, v in SECURITY_HEADERS.items()
                                 if k in ("Cache-Control", "X-Content-Type-Options")})


@router.get("/errorbooks/classes/{class_id}/errorbooks.pdf")
async def class_books_file(class_id: int, request: Request, session: SessionDep,
                           user: RequiredUser) -> Response:
    """The last finished class set (every student's book, duplex-safe sections)."""
    await check_class(session, user.actor, class_id)
    return _file(request, "books", class_id, f"class-{class_id}-errorbooks.pdf")


@router.get("/errorbooks/classes/{class_id}/errorbooks-key.pdf")
async def class_key_file(class_id: int, request: Request, session: SessionDep,
                         user: RequiredUser) -> Response:
    """The teacher's key made with the last class set (practice answers, why chosen)."""
    await check_class(session, user.actor, class_id)
    return _file(request, "key", class_id, f"class-{class_id}-errorbooks-key.pdf")
