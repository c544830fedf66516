"""The evaluation API's errors: otpgate's own vocabulary (``{"msg", "field"}``).

The table is the house one (``web/errors.py``). A PATCH or PUT the evaluation cannot
take (``PatchConflict``, 409) answers with the evaluation as it now stands, ``msg`` added.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from otpgate.core.errors import InvalidInput, OtpError
from otpgate.flows.evaluation.service import PatchConflict
from otpgate.web.errors import ErrorAnswer, house_response
from otpgate.web.evaluation.translate import evaluation_body
from otpgate.web.validation import Problem, ProblemKind

NOT_AN_OBJECT = "the request body must be a JSON object"


def render(request: Request, exc: OtpError, answer: ErrorAnswer) -> Response:
    extra = None
    if isinstance(exc, PatchConflict) and exc.view is not None:
        extra = evaluation_body(exc.view, exc.request_id)
    return house_response(exc, answer, extra)


def invalid(problem: Problem) -> InvalidInput | None:
    if problem.kind is ProblemKind.UNREADABLE:
        return None  # the app's own answer: {"msg": "There was an error parsing the body"}
    if problem.kind in (ProblemKind.NOT_JSON, ProblemKind.NOT_OBJECT):
        return InvalidInput("body", NOT_AN_OBJECT)
    return InvalidInput(problem.field, problem.message)
