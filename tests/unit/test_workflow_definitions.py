"""Workflow definitions: the flow's pure parser over decoded files, and the file reader."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from otpgate.flows.evaluation.definitions import WorkflowError, catalog_from_mapping
from otpgate.workflow_files import load_catalog, parse_catalog

OUTCOME = {"status": "CLOSED", "sub_status": "Approve", "decision": "ACCEPT"}
MINIMAL: dict[str, Any] = {
    "format": 1,
    "workflows": {
        "mine": {
            "id": "w-1",
            "version": "1",
            "on_verified": OUTCOME,
            "on_resume": OUTCOME,
            "rules": [
                {"check": "underage", "decision": "REJECT", "tag": "young", "min_age": 21},
                {
                    "check": "phone_line_type",
                    "decision": "REVIEW",
                    "tag": "{line_type}",
                    "line_types": ["voip"],
                },
            ],
        }
    },
}


def _with(path: str, value: object) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    target: Any = data["workflows"]["mine"]
    *parents, leaf = path.split(".")
    for p in parents:
        target = target[int(p)] if p.isdigit() else target[p]
    target[leaf] = value
    return data


def test_a_mapping_becomes_workflows() -> None:
    wf = catalog_from_mapping(MINIMAL)["mine"]
    assert (wf.id, wf.version, [str(c) for c in wf.channels]) == ("w-1", "1", ["sms", "email"])
    underage, line_type = wf.rules
    assert (underage.check, underage.min_age) == ("underage", 21)
    assert line_type.line_types == frozenset({"voip"})


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"format": 2}, "format: 1"),
        ([], "format: 1"),
        (_with("on_verified", "CLOSED"), "must be a mapping"),
        (_with("on_verified", {"status": "CLOSED"}), "lacks"),
        (_with("on_resume", {**OUTCOME, "decision": "MAYBE"}), "unknown decision"),
        (
            _with(
                "on_verified", {**OUTCOME, "status": "ON_HOLD", "sub_status": "Pending OTP Code"}
            ),
            "only otpgate holds",
        ),
        (_with("channels", ["fax"]), "fax"),
        (_with("rules", {"check": "underage"}), "must be a list"),
        (_with("rules.0.check", "horoscope"), "unknown check"),
        (_with("rules.0.min_age", "adult"), "whole number"),
        (_with("rules.1.line_types", "voip"), "must be a list"),
        (_with("pii", {"required": ["given_name"], "on_missing": OUTCOME}), "no outcome for"),
        ({"format": 1, "workflows": {"mine": {"version": "1"}}}, "missing or malformed"),
    ],
)
def test_malformed_definitions_are_refused_naming_the_problem(data: object, problem: str) -> None:
    with pytest.raises(WorkflowError, match=problem):
        catalog_from_mapping(data)


def test_the_builtin_catalog_and_an_operator_file(tmp_path: Path) -> None:
    builtin = load_catalog()
    assert {"otp_verification", "individual_onboarding"} <= set(builtin)
    extra = tmp_path / "workflows.yaml"
    extra.write_text(
        "format: 1\nworkflows:\n  otp_verification:\n    id: mine\n    version: '2'\n"
        "    on_verified: {status: CLOSED, sub_status: Approve, decision: ACCEPT}\n"
        "    on_resume: {status: CLOSED, sub_status: Decline, decision: REJECT}\n",
        encoding="utf-8",
    )
    catalog = load_catalog(str(extra))
    assert catalog["otp_verification"].id == "mine"  # replaces the built-in one
    assert catalog["individual_onboarding"] == builtin["individual_onboarding"]
    with pytest.raises(WorkflowError):
        parse_catalog("format: 1\nworkflows: [1, 2]\n")
