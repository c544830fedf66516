"""A request FastAPI could not validate → the one problem each API words in its own way.

FastAPI reports a malformed request as a ``RequestValidationError`` (a list of pydantic
errors) or, for a body it cannot even decode, as ``HTTPException(400)``. Every API
answers only the first problem, naming the field as its documents do
(``data.individual.email``, ``target.phone``, ``slug``); :func:`problem_of` and
:data:`UNREADABLE` turn both into a :class:`Problem`, and each API turns that into an
``InvalidInput`` (``WebApi.invalid``), which its error table then answers like any other.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError

from otpgate.web.wire import field_name

NOT_AN_OBJECT = frozenset({"model_attributes_type", "dict_type"})


class ProblemKind(enum.Enum):
    NOT_JSON = "not_json"
    """The body is not JSON text (``detail``, when known: what the parser says, and
    where)."""
    NOT_OBJECT = "not_object"
    """The body is JSON, but not an object (``[]``, ``"text"``)."""
    EMPTY = "empty"
    """There is no body, or it is ``null``."""
    MISSING = "missing"
    """A required field is absent."""
    INVALID = "invalid"
    """A field's value is refused (``detail``: why)."""
    UNREADABLE = "unreadable"
    """The body's bytes are not text at all (not UTF-8)."""


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    field: str
    """As the APIs name fields: ``data.individual.email``; ``body`` for the whole body."""
    detail: str = ""
    """The validator's or the JSON parser's words, without pydantic's ``Value error, ``."""

    @property
    def described(self) -> str:
        """``field: detail``."""
        return f"{self.field}: {self.detail}"

    @property
    def message(self) -> str:
        """``field is required`` for a missing field, else :attr:`described`."""
        if self.kind in (ProblemKind.MISSING, ProblemKind.EMPTY):
            return f"{self.field} is required"
        return self.described


UNREADABLE = Problem(ProblemKind.UNREADABLE, "body")
"""FastAPI's ``HTTPException(400)``: "there was an error parsing the body"."""


def problem_of(exc: RequestValidationError, raw: bytes = b"") -> Problem:
    """The first of ``exc``'s errors; ``raw`` (the body) locates a JSON syntax error."""
    errors = exc.errors()
    first: dict[str, Any] = dict(errors[0]) if errors else {"loc": ("body",)}
    loc = tuple(first.get("loc", ()))
    kind = first.get("type", "")
    detail = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind == "json_invalid":
        return _not_json(raw)
    field = field_name(loc)
    if loc == ("body",):
        if kind in NOT_AN_OBJECT:
            return Problem(ProblemKind.NOT_OBJECT, field, detail)
        if kind == "missing":
            return Problem(ProblemKind.EMPTY, field, detail)
    if kind == "missing":
        return Problem(ProblemKind.MISSING, field, detail)
    return Problem(ProblemKind.INVALID, field, detail)


def _not_json(raw: bytes) -> Problem:
    """Why ``raw`` is not JSON, and where, as the standard library's parser says it."""
    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        where = f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        return Problem(ProblemKind.NOT_JSON, "body", where)
    except ValueError:  # not text at all: FastAPI answers those as UNREADABLE
        pass
    return Problem(ProblemKind.NOT_JSON, "body")
