"""Text every API accepts, checked once for all of them, before any handler runs; and the
shapes the OpenAPI document states for it.

No request string may hold a control character (C0 ``U+0000`` to ``U+001F``, DEL, C1
``U+0080`` to ``U+009F``) or a lone surrogate: PostgreSQL text cannot store NUL, a
surrogate cannot be encoded for either database, and none of them belongs in an id, a
name, a destination or a reference. Free text that may span lines (a message template)
may also hold tab, line feed and carriage return.

- ``WireModel``: the base of every request schema. Its validator checks every field,
  strings nested in lists and dicts (keys too) and untyped (``Any``) fields included, so a
  new field is covered without anyone remembering to. A model lists its multi-line
  fields in ``multiline_fields``. Its JSON schema says the same: every string without a
  shape of its own gets the ``NO_CONTROL`` pattern, dict keys a ``propertyNames``, and an
  ``Any`` field is a ``PlainJson`` value.
- ``PlainText``: the same check for path and query parameters
  (``slug: PlainText``, ``Annotated[PlainText | None, Query(max_length=64)]``).
- ``Documented(**keywords)``: JSON Schema keywords for a value whose rule is checked by
  code (here, or in the flows, with the API's own message): the document states the rule,
  from the same constant, without pydantic answering in its own words instead.
- The shapes the flows check: ``Slug``, ``Identifier``, ``Operation``, ``OtpId``,
  ``VerificationToken``, ``PhoneNumber``, ``Email``, ``Code``.
- ``field_name(loc)``: a validation error's location as the APIs name fields
  (``data.individual.given_name``, ``slug``, ``destination``).

A refusal is a ``ValueError`` inside validation, so each API answers it as any other
malformed field: a 400 in its own vocabulary, naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    GetJsonSchemaHandler,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from typing_extensions import TypeAliasType

from otpgate.flows.sponsor.model import (
    IDENTIFIER,
    OPERATION,
    OTP_ID_PREFIX,
    SLUG,
    TOKEN_BODY,
    TOKEN_PREFIX,
    ULID,
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_EXCEPT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
LOCATION_PARTS = ("body", "path", "query", "header")

# The same rule as a JSON Schema pattern (ECMA 262, escapes as text). Lone surrogates are
# left out: in UTF-16 regex engines a pattern against them refuses every astral character.
NO_CONTROL = r"^[^\u0000-\u001f\u007f-\u009f]*$"
NO_CONTROL_MULTILINE = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
SHAPED = ("pattern", "format", "enum", "const", "$ref")


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


class Documented:
    """JSON Schema keywords added to a value's schema, which pydantic does not check:
    code does (a validator, or a flow's ``check_…``), with the API's own message."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        handler.resolve_ref_schema(schema).update(self.keywords)
        return schema


def anchored(regex: re.Pattern[str]) -> str:
    """A ``fullmatch`` regex as the document's pattern, which matches anywhere unanchored."""
    return f"^(?:{regex.pattern})$"


PlainText = Annotated[str, AfterValidator(check_text), Documented(pattern=NO_CONTROL)]

# The sponsor API's names, in bodies and paths (checked by flows/sponsor/model.py).
IDENTIFIER_PATTERN = anchored(IDENTIFIER)
Slug = Annotated[str, Documented(pattern=anchored(SLUG))]
Identifier = Annotated[str, Documented(pattern=IDENTIFIER_PATTERN)]
Operation = Annotated[str, Documented(pattern=anchored(OPERATION))]
OtpId = Annotated[str, Documented(pattern=f"^{OTP_ID_PREFIX}{ULID.pattern}$")]
VerificationToken = Annotated[str, Documented(pattern=f"^{TOKEN_PREFIX}{TOKEN_BODY.pattern}$")]
SlugText = Annotated[PlainText, Documented(pattern=anchored(SLUG))]
IdentifierText = Annotated[PlainText, Documented(pattern=IDENTIFIER_PATTERN)]

# A code as typed: digits, as many as the code sent (OTPGATE_CODE_LENGTH, 4 to 10).
Code = Annotated[str, Documented(pattern="^[0-9]{4,10}$")]

# Contact points, checked by otpgate.destinations (phonenumbers, email-validator).
E164 = r"^\+[1-9][0-9]{6,14}$"
PhoneNumber = Annotated[
    str,
    Documented(
        pattern=E164,
        format="phone",
        description="A phone number valid for its region (libphonenumber), in E.164 "
        "(`+14155550100`); spaces, hyphens, dots and brackets between the digits are "
        "accepted too.",
    ),
]


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c}]" for c in word)


_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_LABEL = r"(?=[A-Za-z0-9-]{1,63}\.)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
# email-validator refuses the special-use domains as undeliverable.
_SPECIAL_USE = "|".join(
    _any_case(w) for w in ("arpa", "invalid", "local", "localhost", "onion", "test")
)
EMAIL = (
    rf"^(?=[^@]{{1,64}}@)[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@(?:{_LABEL}\.)+"
    rf"(?!(?:{_SPECIAL_USE})$)[A-Za-z]{{2,63}}$"
)
Email = Annotated[
    str,
    Documented(
        format="email",
        pattern=EMAIL,
        maxLength=254,
        description="An address email-validator accepts (RFC 5322 syntax, a domain that "
        "can receive mail; no DNS lookup). The pattern is the ASCII part of that: "
        "internationalized addresses are accepted too.",
    ),
]


class _CleanKeys:
    """A ``dict`` schema's keys get the ``NO_CONTROL`` pattern (``propertyNames``)."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        _state_plain_text(handler.resolve_ref_schema(schema), multiline=False)
        return schema


_Json = TypeAliasType(  # type: ignore[misc]
    "PlainJson",
    Union[  # noqa: UP007 - a recursive alias needs the forward references
        Annotated[str, Documented(pattern=NO_CONTROL)],
        int,
        float,
        bool,
        list["_Json"],  # type: ignore[misc]
        Annotated[dict[str, "_Json"], _CleanKeys()],  # type: ignore[misc]
        None,
    ],
)


class _AsPlainJson:
    """Documents an ``Any`` field as the ``PlainJson`` the walk below lets through."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(TypeAdapter(_Json).core_schema)  # type: ignore[arg-type]


PlainJson = Annotated[Any, _AsPlainJson()]
"""Any JSON value, as long as no string in it (keys included) holds a control character."""


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


def _state_plain_text(schema: dict[str, Any], *, multiline: bool) -> None:
    """Give every string of ``schema`` that has no shape of its own the pattern the walk
    applies; nested models (``$ref``) state their own."""
    if any(k in schema for k in SHAPED):
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            _state_plain_text(option, multiline=multiline)
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "string" in kinds:
        schema["pattern"] = NO_CONTROL_MULTILINE if multiline else NO_CONTROL
    if "array" in kinds and isinstance(schema.get("items"), dict):
        _state_plain_text(schema["items"], multiline=multiline)
    if "object" in kinds and isinstance(schema.get("additionalProperties"), dict):
        schema.setdefault("propertyNames", {"pattern": NO_CONTROL})
        _state_plain_text(schema["additionalProperties"], multiline=multiline)


class WireModel(BaseModel):
    """Base of every request schema: no field holds control characters or surrogates."""

    multiline_fields: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any, info: ValidationInfo) -> Any:
        _walk(value, info.field_name in cls.multiline_fields)
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        multiline = {cls.model_fields[name].alias or name for name in cls.multiline_fields}
        for name, prop in target.get("properties", {}).items():
            _state_plain_text(prop, multiline=name in multiline)
        return schema


def field_name(loc: Sequence[int | str]) -> str:
    """``("body", "data", "individual", "email")`` → ``data.individual.email``."""
    parts = list(loc[1:] if loc and loc[0] in LOCATION_PARTS else loc)
    return ".".join(str(p) for p in parts) or "body"
