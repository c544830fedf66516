"""Text every API accepts, checked once for all of them, before any handler runs.

No request string may hold a control character (C0 ``U+0000`` to ``U+001F``, DEL, C1
``U+0080`` to ``U+009F``) or a lone surrogate: PostgreSQL text cannot store NUL, a
surrogate cannot be encoded for either database, and none of them belongs in an id, a
name, a destination or a reference. Free text that may span lines (a message template)
may also hold tab, line feed and carriage return.

- ``WireModel``: the base of every request schema. Its validator checks every field,
  strings nested in lists and dicts (keys too) and untyped (``Any``) fields included, so a
  new field is covered without anyone remembering to. A model lists its multi-line
  fields in ``multiline_fields``.
- ``PlainText``: the same check for path and query parameters
  (``slug: PlainText``, ``Annotated[PlainText | None, Query(max_length=64)]``).
- ``field_name(loc)``: a validation error's location as the APIs name fields
  (``data.individual.given_name``, ``slug``, ``destination``).

A refusal is a ``ValueError`` inside validation, so each API answers it as any other
malformed field: a 400 in its own vocabulary, naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ValidationInfo, field_validator

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_EXCEPT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
LOCATION_PARTS = ("body", "path", "query", "header")


def refusal(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` is refused, or ``None`` when it is acceptable text."""
    found = (_CONTROL_EXCEPT_LINES if multiline else _CONTROL).search(value)
    if found is None:
        return None
    char = found.group()
    kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    return f"must not contain {kind} (U+{ord(char):04X} at position {found.start()})"


def check_text(value: str) -> str:
    """``AfterValidator`` of ``PlainText``: the value, or a ``ValueError`` saying why not."""
    problem = refusal(value)
    if problem is not None:
        raise ValueError(problem)
    return value


PlainText = Annotated[str, AfterValidator(check_text)]


def _walk(value: object, multiline: bool, where: str = "") -> None:
    if isinstance(value, str):
        problem = refusal(value, multiline=multiline)
        if problem is not None:
            raise ValueError(f"{where}: {problem}" if where else problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(key, False, f"key {key!r}")
            _walk(item, multiline, f"[{key!r}]")
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            _walk(item, multiline, f"[{index}]")
    # Nested models were checked by their own validator; numbers and booleans are safe.


class WireModel(BaseModel):
    """Base of every request schema: no field holds control characters or surrogates."""

    multiline_fields: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any, info: ValidationInfo) -> Any:
        _walk(value, info.field_name in cls.multiline_fields)
        return value


def field_name(loc: Sequence[int | str]) -> str:
    """``("body", "data", "individual", "email")`` → ``data.individual.email``."""
    parts = list(loc[1:] if loc and loc[0] in LOCATION_PARTS else loc)
    return ".".join(str(p) for p in parts) or "body"
