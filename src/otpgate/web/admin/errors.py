"""The admin API's answers (``/v1/admin/…`` and ``/v1/outbox``): otpgate's own vocabulary.

The tenant's Bearer API key is checked first, before the body or the query is read, so a
caller without a valid key learns nothing about its request. Errors are the house table
and body (``web/errors.py``); a malformed field is ``{"msg": "field: why", "field"}``.
"""

from __future__ import annotations

from otpgate.core.errors import InvalidInput
from otpgate.web.auth import api_key
from otpgate.web.errors import HOUSE, house_render
from otpgate.web.routing import WebApi, authenticated
from otpgate.web.validation import Problem, ProblemKind


def invalid(problem: Problem) -> InvalidInput | None:
    if problem.kind is ProblemKind.UNREADABLE:
        return None  # the app's own answer: {"msg": "There was an error parsing the body"}
    if problem.kind in (ProblemKind.NOT_JSON, ProblemKind.NOT_OBJECT):
        return InvalidInput("body", "the body must be a JSON object")
    return InvalidInput(problem.field, problem.described)


ADMIN = WebApi(
    name="Admin", errors=HOUSE, render=house_render, invalid=invalid, guard=authenticated(api_key)
)
ROUTE_CLASS = ADMIN.route_class()
