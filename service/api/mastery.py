"""Mastery (per student × knowledge point), progress, recommendations and fitting."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from service.api.deps import ActorDep, AdminDep, SessionDep, SettingsDep
from service.api.read_cache import cached_json
from service.mastery.recommend import fit_and_record, recommendations
from service.mastery.report import class_mastery, class_progress, student_mastery, student_progress
from service.schemas.mastery import (
    ClassMasteryOut,
    ClassProgressOut,
    FitOut,
    ProgressOut,
    RecommendationsOut,
    StudentMasteryOut,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["mastery"])


@router.get("/students/{student_id}/mastery")
async def get_student_mastery(student_id: int, session: SessionDep,
                              actor: ActorDep) -> StudentMasteryOut:
    """Per knowledge point: the mastery estimate (BKT), its band, attempts, recent trend;
    parents (``math.add``) rolled up from the points below them."""
    return await student_mastery(session, actor, student_id)


@router.get("/classes/{class_id}/mastery")
async def get_class_mastery(class_id: int, session: SessionDep,
                            actor: ActorDep) -> ClassMasteryOut:
    """The class × knowledge-point matrix and the class mean per knowledge point."""
    return await class_mastery(session, actor, class_id)


@router.get("/students/{student_id}/progress")
async def get_student_progress(student_id: int, session: SessionDep,
                               actor: ActorDep) -> ProgressOut:
    """The student's error-book entries (open → practising → resolved), the error
    resolution rate (错题解决率) and each knowledge point's score rate per week."""
    return await student_progress(session, actor, student_id)


@router.get("/classes/{class_id}/progress", response_model=ClassProgressOut)
async def get_class_progress(class_id: int, request: Request, session: SessionDep,
                             actor: ActorDep) -> Response:
    """Resolution rate per student and for the class; weekly score rates per knowledge
    point over the class."""
    return await cached_json(request, session, actor,
                             lambda: class_progress(session, actor, class_id))


@router.get("/students/{student_id}/recommendations")
async def get_recommendations(
    student_id: int, session: SessionDep, actor: ActorDep, settings: SettingsDep,
    n: Annotated[int, Query(ge=1, le=60, description="how many questions")] = 10,
) -> RecommendationsOut:
    """Practice for the student's most overdue entries: similar bank questions and
    generated variants, each with the reason it was picked. Nothing is stored."""
    return await recommendations(session, actor, student_id, n, settings.mastery)


@router.post("/mastery:fit")
async def fit_mastery(session: SessionDep, actor: AdminDep,
                      settings: SettingsDep) -> FitOut:
    """Re-estimate each knowledge point's parameters (prior, learn, guess, slip) from the
    school's answers by EM, then replay every student's mastery with them (admins)."""
    return await fit_and_record(session, actor, settings.mastery)
