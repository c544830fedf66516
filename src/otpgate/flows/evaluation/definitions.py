"""Workflow definitions, loaded once at start-up from YAML and validated then."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from otpgate.core.model import Channel

KNOWN_CHECKS = frozenset({"invalid_fields", "disposable_email", "phone_line_type", "underage"})
DECISIONS = ("ACCEPT", "REVIEW", "REJECT")


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
    params: dict[str, Any] = field(default_factory=dict)


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


def _outcome(raw: Any, where: str) -> Outcome:
    if not isinstance(raw, dict):
        raise WorkflowError(f"{where} must be a mapping")
    try:
        decision = str(raw["decision"])
        outcome = Outcome(
            str(raw["status"]),
            str(raw["sub_status"]),
            decision,
            tuple(str(t) for t in raw.get("tags", [])),
        )
    except KeyError as exc:
        raise WorkflowError(f"{where} lacks {exc.args[0]}") from exc
    if decision not in DECISIONS or outcome.status not in ("ON_HOLD", "CLOSED"):
        raise WorkflowError(f"{where} has an unknown decision or status")
    return outcome


def _workflow(name: str, raw: dict[str, Any]) -> Workflow:
    try:
        channels = tuple(Channel(c) for c in raw.get("channels", ["sms", "email"]))
    except ValueError as exc:
        raise WorkflowError(f"{name}: {exc}") from exc
    pii = None
    if "pii" in raw:
        p = raw["pii"]
        pii = PiiStep(
            tuple(p["required"]),
            tuple(p.get("address_required", [])),
            _outcome(p["on_missing"], f"{name}.pii.on_missing"),
        )
    rules = []
    for i, r in enumerate(raw.get("rules", [])):
        params = {k: v for k, v in r.items() if k not in ("check", "decision", "tag")}
        rule = Rule(str(r["check"]), str(r["decision"]), str(r["tag"]), params)
        if rule.check not in KNOWN_CHECKS or rule.decision not in DECISIONS:
            raise WorkflowError(f"{name}.rules[{i}]: unknown check or decision")
        rules.append(rule)
    wf = Workflow(
        name=name,
        id=str(raw["id"]),
        version=str(raw["version"]),
        channels=channels,
        on_verified=_outcome(raw["on_verified"], f"{name}.on_verified"),
        on_resume=_outcome(raw["on_resume"], f"{name}.on_resume"),
        pii=pii,
        rules=tuple(rules),
        on_accept=_outcome(raw["on_accept"], f"{name}.on_accept") if "on_accept" in raw else None,
        on_review=_outcome(raw["on_review"], f"{name}.on_review") if "on_review" in raw else None,
        on_reject=_outcome(raw["on_reject"], f"{name}.on_reject") if "on_reject" in raw else None,
    )
    if pii is not None:
        for decision in DECISIONS:
            wf.outcome_for(decision)
    return wf


def parse_catalog(text: str) -> dict[str, Workflow]:
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or data.get("format") != 1:
        raise WorkflowError("a workflow file needs 'format: 1' and a 'workflows' mapping")
    out: dict[str, Workflow] = {}
    for name, raw in (data.get("workflows") or {}).items():
        try:
            out[str(name)] = _workflow(str(name), raw)
        except (KeyError, TypeError) as exc:
            raise WorkflowError(f"workflow {name}: missing or malformed {exc}") from exc
    return out


def load_catalog(extra_file: str | None = None) -> dict[str, Workflow]:
    text = resources.files("otpgate.flows.evaluation").joinpath("builtin.yaml").read_text("utf-8")
    catalog = parse_catalog(text)
    if extra_file:
        catalog.update(parse_catalog(Path(extra_file).read_text("utf-8")))
    return catalog


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
