"""The decision rules run after the PII step: field validity, phone line type,
disposable email domains, minimum age. Each rule that matches adds its tag.

The list of disposable email domains is data from a third-party package: the wiring
builds it and the service hands it in with the facts (``Facts.disposable_domains``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Set
from dataclasses import dataclass

from otpgate.core.model import JsonValue
from otpgate.flows.evaluation.definitions import Outcome, Rule, Workflow

_NAME = re.compile(r"^[^\W\d_][^\W\d_'\u2019 .-]*(?:['\u2019 .-][^\W\d_]+)*\.?$", re.UNICODE)
_NATIONAL_ID = re.compile(r"^[A-Za-z0-9-]{4,20}$")
_SSN = re.compile(r"^(?!000|666|9\d\d)\d{3}-?(?!00)\d{2}-?(?!0000)\d{4}$")
_US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
_POSTAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,10}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
SEVERITY = {"ACCEPT": 0, "REVIEW": 1, "REJECT": 2}


@dataclass(frozen=True, slots=True)
class Facts:
    individual: Mapping[str, JsonValue]
    email: str | None
    phone_line_type: str | None
    today: dt.date
    disposable_domains: Set[str]
    """Lowercase domains whose addresses the ``disposable_email`` rule matches."""


def missing_fields(workflow: Workflow, individual: Mapping[str, JsonValue]) -> list[str]:
    if workflow.pii is None:
        return []
    missing = [
        f for f in workflow.pii.required if f not in individual or individual[f] in ("", None)
    ]
    address = individual.get("address")
    if "address" in workflow.pii.required and isinstance(address, Mapping):
        missing += [
            f"address.{f}" for f in workflow.pii.address_required if address.get(f) in ("", None)
        ]
    return missing


def _date_of_birth(value: object) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def invalid_fields(individual: Mapping[str, JsonValue], today: dt.date) -> list[str]:
    bad: list[str] = []
    for name in ("given_name", "family_name"):
        v = individual.get(name)
        if v is not None and not (isinstance(v, str) and 0 < len(v) <= 100 and _NAME.match(v)):
            bad.append(name)
    address = individual.get("address")
    country = address.get("country") if isinstance(address, Mapping) else None
    nid = individual.get("national_id")
    if nid is not None:
        pattern = _SSN if country == "US" else _NATIONAL_ID
        if not (isinstance(nid, str) and pattern.match(nid)):
            bad.append("national_id")
    if "date_of_birth" in individual:
        dob = _date_of_birth(individual["date_of_birth"])
        if dob is None or dob >= today or dob.year < today.year - 130:
            bad.append("date_of_birth")
    if isinstance(address, Mapping):
        for key in ("line_1", "line_2", "locality", "major_admin_division"):
            v = address.get(key)
            if v is not None and not (isinstance(v, str) and len(v) <= 200):
                bad.append(f"address.{key}")
        if country is not None and not (isinstance(country, str) and _COUNTRY.match(country)):
            bad.append("address.country")
        postal = address.get("postal_code")
        if postal is not None:
            pattern = _US_ZIP if country == "US" else _POSTAL
            if not (isinstance(postal, str) and pattern.match(postal)):
                bad.append("address.postal_code")
    elif "address" in individual:
        bad.append("address")
    return bad


def is_disposable(email: str | None, domains: Set[str]) -> bool:
    if not email or "@" not in email:
        return False
    domain = email.rsplit("@", 1)[1].lower()
    return domain in domains


def _age(dob: dt.date, today: dt.date) -> int:
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def _matches(rule: Rule, facts: Facts) -> list[str]:
    """The tags this rule contributes (empty when it does not match)."""
    if rule.check == "invalid_fields":
        return [rule.tag.format(field=f) for f in invalid_fields(facts.individual, facts.today)]
    if rule.check == "disposable_email":
        return [rule.tag] if is_disposable(facts.email, facts.disposable_domains) else []
    if rule.check == "phone_line_type":
        lt = facts.phone_line_type
        return [rule.tag.format(line_type=lt)] if lt in rule.line_types else []
    if rule.check == "underage":
        dob = _date_of_birth(facts.individual.get("date_of_birth"))
        return [rule.tag] if dob is not None and _age(dob, facts.today) < rule.min_age else []
    return []


def decide(workflow: Workflow, facts: Facts) -> Outcome:
    decision = "ACCEPT"
    reasons: list[str] = []
    for rule in workflow.rules:
        tags = _matches(rule, facts)
        if tags:
            reasons += tags
            if SEVERITY[rule.decision] > SEVERITY[decision]:
                decision = rule.decision
    base = workflow.outcome_for(decision)
    tags = list(base.tags) + [t for t in reasons if t not in base.tags]
    return Outcome(base.status, base.sub_status, base.decision, tuple(tags))
