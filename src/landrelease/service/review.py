"""The review queue of field submissions over HTTP, and its page for browsers (/review).

An editor uploads an export of ODK Central or KoboToolbox (POST /api/submissions): its
submissions are queued, each with the flags its checks raise, and nothing reaches the
records. A validator approves one (its records are written, with the validator as actor) or
rejects it, saying why; a flagged submission is approved only with an override reason, or
once an editor has corrected it (PATCH). Every route calls one `Registry` method
(`landrelease.reviewing` holds the use cases) and renders its answer.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from pydantic import Field
from starlette.responses import HTMLResponse, RedirectResponse, Response

from landrelease.domain.roles import Permission, User
from landrelease.reviewing import code_labels
from landrelease.service import access
from landrelease.service import schemas as s
from landrelease.service.api_common import Reader, Reg, Writer, json_response
from landrelease.service.api_imports import UploadRoute, uploaded
from landrelease.service.features_html import render
from landrelease.service.schemas import Text

router = APIRouter(route_class=UploadRoute, tags=["field submissions"])

Reviewer = Annotated[User, Depends(access.require(Permission.REVIEW_SUBMISSIONS))]
SubmissionId = Annotated[
    int, Path(ge=1, le=s.INT64, description="id of the submission in the review queue")
]
_ERRORS = s.problems(400, 401, 403, 404, 412, 422, 503)
_DECIDED: dict[int | str, dict[str, Any]] = {
    412: {**_ERRORS[412], "description": "the submission was decided already"}
}


class Approval(s.Body):
    """A validator's approval; `override` is the reason to approve over the flags raised."""

    override: Text | None = Field(
        None, max_length=2000, description="why it is approved over its flags (kept in history)"
    )


class Rejection(s.Body):
    """A validator's rejection: the submitter's team reads why."""

    reason: Text = Field(min_length=1, max_length=2000, description="why it is rejected")


class Correction(s.Body):
    """An editor's correction of a pending submission's answers."""

    set: dict[
        Annotated[Text, Field(min_length=1, max_length=200)],
        Annotated[Text, Field(max_length=10000)],
    ] = Field(
        min_length=1,
        description='question -> new raw value ("" clears it); a repeat row\'s as '
        '"item[2]/item_state"',
    )
    reason: Text | None = Field(None, max_length=2000, description="why: kept in its history")


@router.post(
    "/api/submissions",
    status_code=201,
    operation_id="queue_submissions",
    summary="Queue the submissions of an ODK Central or KoboToolbox export for review",
    responses={
        200: {"description": "no new submission: every one was queued before"},
        **s.problems(400, 401, 403, 413, 422, 503),
    },
)
def queue_export(
    request: Request,
    user: Writer,
    reg: Reg,
    file: Annotated[
        UploadFile,
        File(
            description="the export: ODK Central's CSV ZIP or CSV, its OData JSON, "
            "KoboToolbox's CSV or API JSON"
        ),
    ],
    form: Annotated[
        str | None,
        Form(
            max_length=100,
            description="the form (nts_survey, eod_spot_task, clearance, accident, "
            "risk_education), when the file does not name it",
        ),
    ] = None,
    accuracy_limit: Annotated[
        float | None,
        Form(gt=0, le=1e6, description="GPS accuracy (m) worse than which a point is flagged"),
    ] = None,
) -> Response:
    """Queue an export's submissions (pending, with their flags); report what was queued,
    flagged, already queued (duplicates) and replaced by an edited version."""
    with uploaded(request, file) as path:
        report = reg.import_submissions(
            path, actor=user.name, form_id=form, accuracy_limit_m=accuracy_limit
        )
    body = {**report.as_dict(), "source": path.name}  # the upload's name, not the folder's
    return json_response(body, 201 if report.queued else 200)


@router.get("/api/submissions", responses=s.problems(401, 403, 422, 503))
def list_submissions(
    reg: Reg,
    user: Reader,
    state: Annotated[
        str, Query(pattern="^(pending|approved|rejected|all)$", description="which ones")
    ] = "pending",
) -> Any:
    """The queued field submissions in a state (pending by default), the oldest first, with
    their flags."""
    return json_response({"submissions": reg.submissions(None if state == "all" else state)})


@router.get("/api/submissions/{submission_id}", responses=_ERRORS)
def get_submission(submission_id: SubmissionId, reg: Reg, user: Reader) -> Response:
    """One submission as review shows it: its answers, the records an approval would write
    (for an edit, what it changes, its geometry too), its flags now, and its history."""
    return json_response(reg.submission(submission_id))


@router.post(
    "/api/submissions/{submission_id}/approve",
    responses={
        **_ERRORS,
        **_DECIDED,
        422: {
            **_ERRORS[422],
            "description": "flagged: fix it or give `override`; the problem's `field` names it",
        },
    },
)
def approve(
    submission_id: SubmissionId, reg: Reg, user: Reviewer, body: Approval | None = None
) -> Response:
    """Approve a pending submission: its records are written, with you as their actor."""
    override = body.override if body else None
    return json_response(reg.approve_submission(submission_id, actor=user.name, override=override))


@router.post(
    "/api/submissions/{submission_id}/reject",
    responses={**_ERRORS, **_DECIDED},
)
def reject(submission_id: SubmissionId, body: Rejection, reg: Reg, user: Reviewer) -> Response:
    """Reject a pending submission, saying why; it stays in the queue with the reason."""
    return json_response(reg.reject_submission(submission_id, actor=user.name, reason=body.reason))


@router.patch(
    "/api/submissions/{submission_id}",
    responses={**_ERRORS, **_DECIDED},
)
def correct(submission_id: SubmissionId, body: Correction, reg: Reg, user: Writer) -> Response:
    """Correct answers of a pending submission; it is checked again (its flags change)."""
    return json_response(
        reg.edit_submission(submission_id, dict(body.set), actor=user.name, reason=body.reason)
    )


@router.get("/review", include_in_schema=False, response_model=None)
def review_page(
    user: Annotated[User | None, Depends(access.current_user)],
) -> HTMLResponse | RedirectResponse:
    """The review page: the queue, the selected submission on a map, its diff and flags."""
    if user is None:
        return RedirectResponse("/login?next=/review", status_code=303)
    return HTMLResponse(_review_html(), headers={"Cache-Control": "no-store"})


@functools.cache
def _review_html() -> str:
    # the forms' wording of every code, for the records an approval writes (JSON in a script
    # element: "</" cannot end it early)
    labels = orjson.dumps(code_labels()).decode().replace("</", "<\\/")
    return render("review.html", code_labels=labels)
