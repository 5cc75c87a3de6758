"""Shared dependencies: the unit of work, the settings and the acting user.

Routers choose who may call them by the actor dependency they take:

* ``TeacherDep`` (alias ``ActorDep``): a signed-in teacher or admin; a device gets 403
  ``forbidden_for_device``. The default for every route.
* ``IngestActorDep``: a teacher or a device key: only scan upload and job status.
* ``AdminDep``: a school admin; others get 403 ``admin_only``.

All three answer 401 to callers without valid credentials.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from service.actor import Actor
from service.api.security import authenticate, client_ip, require_admin, require_teacher
from service.api.uow import SessionDep, SettingsDep, get_session

__all__ = ["ActorDep", "AdminDep", "IngestActorDep", "SessionDep", "SettingsDep", "TeacherDep",
           "client_ip", "get_session"]

TeacherDep = Annotated[Actor, Depends(require_teacher)]
IngestActorDep = Annotated[Actor, Depends(authenticate)]
AdminDep = Annotated[Actor, Depends(require_admin)]
# Kept so older routers keep the safe default (teachers only) without edits.
ActorDep = TeacherDep
