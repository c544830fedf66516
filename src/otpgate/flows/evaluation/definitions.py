"""Workflow definitions, validated once at start-up from their decoded files.

The files are YAML; ``otpgate.workflow_files`` reads them and hands the decoded mapping to
:func:`catalog_from_mapping`, which builds and checks the definitions (standard library
only, like every flow)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from otpgate.core.model import Channel

KNOWN_CHECKS = frozenset({"invalid_fields", "disposable_email", "phone_line_type", "underage"})
DECISIONS = ("ACCEPT", "REVIEW", "REJECT")
HOLD = "ON_HOLD"
PENDING_OTP_SUB_STATUS = "Pending OTP Code"
"""The sub-status of an evaluation waiting for its code: otpgate's alone (``states.py``)."""
MORE_INFO_SUB_STATUS = "More information needed"
"""The sub-status of an evaluation waiting for personal details."""


class WorkflowError(ValueError):
    """A workflow file is malformed; raised at load time, never while serving."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    sub_status: str
    decision: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    check: str
    decision: str
    tag: str
    line_types: frozenset[str] = frozenset()
    """``phone_line_type``: the line types that match."""
    min_age: int = 18
    """``underage``: the age below which the rule matches."""


@dataclass(frozen=True, slots=True)
class PiiStep:
    required: tuple[str, ...]
    address_required: tuple[str, ...]
    on_missing: Outcome


@dataclass(frozen=True, slots=True)
class Workflow:
    name: str
    id: str
    version: str
    channels: tuple[Channel, ...]
    on_verified: Outcome
    on_resume: Outcome
    pii: PiiStep | None = None
    rules: tuple[Rule, ...] = ()
    on_accept: Outcome | None = None
    on_review: Outcome | None = None
    on_reject: Outcome | None = None

    def outcome_for(self, decision: str) -> Outcome:
        chosen = {"ACCEPT": self.on_accept, "REVIEW": self.on_review, "REJECT": self.on_reject}
        outcome = chosen.get(decision)
        if outcome is None:
            raise WorkflowError(f"workflow {self.name} has no outcome for {decision}")
        return outcome


def _mapping(raw: object, where: str) -> Mapping[str, object]:
    if not isinstance(raw, Mapping):
        raise WorkflowError(f"{where} must be a mapping")
    return raw


def _list(raw: object, where: str) -> list[object]:
    if not isinstance(raw, list):
        raise WorkflowError(f"{where} must be a list")
    return raw


def _strings(raw: object, where: str) -> tuple[str, ...]:
    return tuple(str(item) for item in _list(raw, where))


def _outcome(raw: object, where: str) -> Outcome:
    fields = _mapping(raw, where)
    try:
        decision = str(fields["decision"])
        outcome = Outcome(
            str(fields["status"]),
            str(fields["sub_status"]),
            decision,
            _strings(fields.get("tags", []), f"{where}.tags"),
        )
    except KeyError as exc:
        raise WorkflowError(f"{where} lacks {exc.args[0]}") from exc
    if decision not in DECISIONS or outcome.status not in ("ON_HOLD", "CLOSED"):
        raise WorkflowError(f"{where} has an unknown decision or status")
    if (outcome.status, outcome.sub_status) == (HOLD, PENDING_OTP_SUB_STATUS):
        raise WorkflowError(f"{where}: only otpgate holds an evaluation for an OTP code")
    return outcome


def _rule(raw: object, where: str) -> Rule:
    fields = _mapping(raw, where)
    rule = Rule(
        check=str(fields["check"]),
        decision=str(fields["decision"]),
        tag=str(fields["tag"]),
        line_types=frozenset(_strings(fields.get("line_types", []), f"{where}.line_types")),
    )
    if rule.check not in KNOWN_CHECKS or rule.decision not in DECISIONS:
        raise WorkflowError(f"{where}: unknown check or decision")
    min_age = fields.get("min_age", rule.min_age)
    if not isinstance(min_age, int | str):
        raise WorkflowError(f"{where}.min_age must be a whole number")
    try:
        return replace(rule, min_age=int(min_age))
    except ValueError as exc:
        raise WorkflowError(f"{where}.min_age must be a whole number") from exc


def _workflow(name: str, raw: object) -> Workflow:
    fields = _mapping(raw, f"workflow {name}")
    try:
        channels = tuple(
            Channel(c) for c in _strings(fields.get("channels", ["sms", "email"]), name)
        )
    except ValueError as exc:
        raise WorkflowError(f"{name}: {exc}") from exc
    pii = None
    if "pii" in fields:
        p = _mapping(fields["pii"], f"{name}.pii")
        pii = PiiStep(
            _strings(p["required"], f"{name}.pii.required"),
            _strings(p.get("address_required", []), f"{name}.pii.address_required"),
            _outcome(p["on_missing"], f"{name}.pii.on_missing"),
        )
    rules = _list(fields.get("rules", []), f"{name}.rules")

    def decided(key: str) -> Outcome | None:
        return _outcome(fields[key], f"{name}.{key}") if key in fields else None

    wf = Workflow(
        name=name,
        id=str(fields["id"]),
        version=str(fields["version"]),
        channels=channels,
        on_verified=_outcome(fields["on_verified"], f"{name}.on_verified"),
        on_resume=_outcome(fields["on_resume"], f"{name}.on_resume"),
        pii=pii,
        rules=tuple(_rule(r, f"{name}.rules[{i}]") for i, r in enumerate(rules)),
        on_accept=decided("on_accept"),
        on_review=decided("on_review"),
        on_reject=decided("on_reject"),
    )
    if pii is not None:
        for decision in DECISIONS:
            wf.outcome_for(decision)
    return wf


def catalog_from_mapping(data: object) -> dict[str, Workflow]:
    """The workflows a decoded workflow file defines (the file's reader is
    ``otpgate.workflow_files``); ``WorkflowError`` naming what is malformed."""
    if not isinstance(data, Mapping) or data.get("format") != 1:
        raise WorkflowError("a workflow file needs 'format: 1' and a 'workflows' mapping")
    out: dict[str, Workflow] = {}
    for name, raw in _mapping(data.get("workflows") or {}, "workflows").items():
        try:
            out[str(name)] = _workflow(str(name), raw)
        except (KeyError, TypeError) as exc:
            raise WorkflowError(f"workflow {name}: missing or malformed {exc}") from exc
    return out


def with_aliases(
    catalog: Mapping[str, Workflow], aliases: Mapping[str, str]
) -> dict[str, Workflow]:
    """``catalog`` plus each alias as a name of its target: an evaluation started with the
    alias is stored and answered under it, and runs (and reports ``workflow_id``) as the
    target. An alias may not hide a workflow of the catalog, nor point at an unknown one."""
    out = dict(catalog)
    for alias, target in aliases.items():
        if alias in catalog:
            raise WorkflowError(f"workflow alias {alias!r} is already a workflow's name")
        if target not in catalog:
            known = ", ".join(sorted(catalog))
            raise WorkflowError(
                f"workflow alias {alias!r} names unknown workflow {target!r} (known: {known})"
            )
        out[alias] = replace(catalog[target], name=alias)
    return out
