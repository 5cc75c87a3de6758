"""Pages of the ``student_links`` area: a teacher issues, re-issues and revokes per-student
read-only links (``/classes/{class_id}/links``) and prints them as slips; the public pages
a link opens (``/s/{token}``) are in :mod:`service.web.learner`.

Only a hash of each link is stored (:mod:`service.student_links`), so the slips page is
the answer to the form that issued the links, shown once; to show a link again the teacher
issues a new one, and the page says that this stops the old one working.
"""

from __future__ import annotations

import segno
from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from service import student_links
from service.api.deps import SessionDep
from service.student_links import IssuedLink
from service.web import learner
from service.web.deps import FormStr, FormUser, RequiredUser, see_other
from service.web.render import render
from service.web.sessions import PageUser

__all__ = ["router", "slip_qr"]

router = APIRouter(include_in_schema=False)
router.include_router(learner.router)


def slip_qr(url: str) -> Markup:
    """The link as a QR code, an inline SVG (no style attribute, so the page's CSP allows
    it), drawn with segno as the printed worksheets' codes are."""
    code = segno.make(url, error="m", micro=False)
    return Markup(code.svg_inline(scale=3, dark="#000", title="QR"))


def _slips(request: Request, user: PageUser, class_id: int, class_name: str,
           issued: list[IssuedLink]) -> Response:
    base = str(request.base_url).rstrip("/")
    slips = [{"student_id": link.student_id, "student_no": link.student_no, "name": link.name,
              "url": f"{base}/s/{link.token}", "qr": slip_qr(f"{base}/s/{link.token}")}
             for link in issued]
    return render(request, "student_links/slips.html", user=user, class_id=class_id,
                  class_name=class_name, slips=slips,
                  headers={"Referrer-Policy": "no-referrer"})


@router.get("/classes/{class_id}/links")
async def links_page(class_id: int, request: Request, session: SessionDep,
                     user: RequiredUser) -> Response:
    """The class's students and whether each has a working link, with the forms to issue
    links (all, or only those without one), re-issue or revoke one, or revoke all."""
    cls, rows = await student_links.class_links(session, user.actor, class_id)
    done = request.query_params.get("done", "")
    return render(request, "student_links/links.html", user=user, cls=cls, rows=rows,
                  done=done if done in ("revoked", "revoked_all") else "",
                  active=sum(1 for r in rows if r.issued_at is not None))


@router.post("/classes/{class_id}/links")
async def issue_class(class_id: int, request: Request, session: SessionDep, user: FormUser,
                      mode: FormStr = "missing") -> Response:
    """Issue links for the whole class (``mode=all``: every student, old links stop
    working; otherwise only students without a working link) and show the slips once."""
    issued = await student_links.issue_for_class(session, user.actor, class_id,
                                                 only_missing=mode != "all")
    cls, _rows = await student_links.class_links(session, user.actor, class_id)
    return _slips(request, user, class_id, cls.name, issued)


@router.post("/classes/{class_id}/links/revoke")
async def revoke_class(class_id: int, session: SessionDep, user: FormUser) -> Response:
    """Revoke every link of the class at once."""
    await student_links.revoke_class(session, user.actor, class_id)
    return see_other(f"/classes/{class_id}/links?done=revoked_all")


@router.post("/classes/{class_id}/links/{student_id}")
async def issue_student(class_id: int, student_id: int, request: Request, session: SessionDep,
                        user: FormUser) -> Response:
    """Issue (or re-issue: the old link stops working) one student's link; its slip is
    shown once."""
    issued = await student_links.issue_for_student(session, user.actor, class_id, student_id)
    cls, _rows = await student_links.class_links(session, user.actor, class_id)
    return _slips(request, user, class_id, cls.name, [issued])


@router.post("/classes/{class_id}/links/{student_id}/revoke")
async def revoke_student(class_id: int, student_id: int, session: SessionDep,
                         user: FormUser) -> Response:
    """Revoke one student's link at once."""
    await student_links.revoke_student(session, user.actor, class_id, student_id)
    return see_other(f"/classes/{class_id}/links?done=revoked#student-{student_id}")
