"""What every page route depends on: the signed-in teacher, CSRF-checked forms, redirects.

A page route takes one of:

* ``OptionalUser``: the signed-in teacher or ``None`` (sign-in page, language switch);
* ``RequiredUser``: the signed-in teacher; a signed-out browser is redirected to
  ``/login?next=<this page>``;
* ``FormUser``: for a POST form: the signed-in teacher, after the form's ``csrf_token``
  field was checked (a missing or wrong token answers 403 with the "request could not be
  verified" page and nothing is done);
* ``AdminUser`` / ``AdminFormUser``: the same for a school admin (others get 403).

Errors a service function raises (``NotFound``, ``Conflict``, ...) are rendered as an HTML
page with the same status by :mod:`service.web.errors`, so a page route just calls the
service layer as an API router does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse

from service.api.deps import SessionDep
from service.errors import Forbidden
from service.web.sessions import CsrfSigner, PageUser, SignInRequired, csrf_subject, page_user

__all__ = ["AdminFormUser", "AdminUser", "CsrfRefused", "FormStr", "FormUser",
           "OptionalUser", "RequiredUser", "csrf_ok", "see_other"]

FormStr = Annotated[str, Form()]


class CsrfRefused(Exception):
    """A form came without a valid ``csrf_token``; answered with the 403 page."""

    def __init__(self, user: PageUser | None) -> None:
        super().__init__("csrf")
        self.user = user


async def _optional_user(request: Request, session: SessionDep) -> PageUser | None:
    return await page_user(request, session)


OptionalUser = Annotated[PageUser | None, Depends(_optional_user)]


async def _required_user(request: Request, user: OptionalUser) -> PageUser:
    if user is None:
        query = f"?{request.url.query}" if request.url.query else ""
        raise SignInRequired(request.url.path + query)
    return user


RequiredUser = Annotated[PageUser, Depends(_required_user)]


def csrf_ok(request: Request, user: PageUser | None, token: str) -> bool:
    """Whether ``token`` is this browser's CSRF token (bound to its session, or to its
    signed-out browser id)."""
    signer: CsrfSigner = request.app.state.csrf
    return signer.check(csrf_subject(request, user), token)


async def _form_user(request: Request, user: RequiredUser, csrf_token: FormStr = "") -> PageUser:
    if not csrf_ok(request, user, csrf_token):
        raise CsrfRefused(user)
    return user


FormUser = Annotated[PageUser, Depends(_form_user)]


def _admin(user: PageUser) -> PageUser:
    if not user.actor.is_admin:
        raise Forbidden("only a school admin can do this")
    return user


async def _admin_user(user: RequiredUser) -> PageUser:
    return _admin(user)


async def _admin_form_user(user: FormUser) -> PageUser:
    return _admin(user)


AdminUser = Annotated[PageUser, Depends(_admin_user)]
AdminFormUser = Annotated[PageUser, Depends(_admin_form_user)]


def see_other(url: str) -> RedirectResponse:
    """The answer to a form that worked: 303 to the page to show next (post/redirect/get,
    so reloading does not post the form again)."""
    return RedirectResponse(url, status_code=303)
