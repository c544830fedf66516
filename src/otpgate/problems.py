"""Bad settings as one line per problem, for every ``otpgate`` command.

``settings_problems`` turns the ``pydantic.ValidationError`` that ``Settings()`` raises into
lines that name the variable, say what is wrong with its value and what is allowed::

    OTPGATE_OTP_TTL_SECONDS=20: too small (allowed: 30 to 86400)
    OTPGATE_CODE_LENGTH='six': not a whole number (allowed: 4 to 10)

Values of secret settings are never repeated. The CLI prints these lines and exits with
status 2 (``EXIT_BAD_SETTINGS``), as it does for a provider ``ConfigurationError``.
"""

from __future__ import annotations

import shlex
import types
import typing
from typing import Any

import annotated_types
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo

EXIT_BAD_SETTINGS = 2
ENV_PREFIX = "OTPGATE_"

_WHAT: dict[str, str] = {
    "int_parsing": "not a whole number",
    "int_from_float": "not a whole number",
    "float_parsing": "not a number",
    "bool_parsing": "not a yes/no value",
    "literal_error": "not one of the allowed values",
    "greater_than_equal": "too small",
    "greater_than": "too small",
    "less_than_equal": "too large",
    "less_than": "too large",
    "string_type": "not text",
    "missing": "missing",
}


def settings_problems(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """One line per error of ``exc``, raised while validating ``model`` (a ``Settings``)."""
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        field = model.model_fields.get(name)
        variable = ENV_PREFIX + name.upper() if name else ENV_PREFIX + "*"
        what = _WHAT.get(error["type"], error["msg"][:1].lower() + error["msg"][1:])
        raw = error.get("input")
        shown = field is not None and not _is_secret(name, field) and isinstance(raw, str | int)
        value = f"={shlex.quote(str(raw))}" if shown else ""
        allowed = allowed_values(field) if field is not None else None
        lines.append(f"{variable}{value}: {what}" + (f" (allowed: {allowed})" if allowed else ""))
    return lines


def allowed_values(field: FieldInfo) -> str | None:
    """What a field accepts, from its type and its ``Field(ge=…, le=…)`` bounds."""
    kind = _base_type(field.annotation)
    if typing.get_origin(kind) is typing.Literal:
        return ", ".join(str(v) for v in typing.get_args(kind))
    if kind is bool:
        return "true or false"
    if kind not in (int, float):
        return None
    noun = "a whole number" if kind is int else "a number"
    ge = le = None
    phrases = []
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            ge = _num(item.ge)
            phrases.append(f"at least {ge}")
        elif isinstance(item, annotated_types.Gt):
            phrases.append(f"above {_num(item.gt)}")
        elif isinstance(item, annotated_types.Le):
            le = _num(item.le)
            phrases.append(f"at most {le}")
        elif isinstance(item, annotated_types.Lt):
            phrases.append(f"below {_num(item.lt)}")
    if ge is not None and le is not None and len(phrases) == 2:
        return f"{ge} to {le}"
    return f"{noun} " + " and ".join(phrases) if phrases else noun


def _num(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _base_type(annotation: Any) -> Any:
    """``int | None`` → ``int``; other annotations as they are."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _is_secret(name: str, field: FieldInfo) -> bool:
    if _base_type(field.annotation) is SecretStr:
        return True
    return name.endswith(("_secret", "_secret_previous", "_password", "_token", "_api_key"))
