"""Gateway results → the document's action/detail vocabulary, in tables (errors:
``errors.py``).

PENDING carries the detail of the document's table, ``TRANSACTION REQUIRES FURTHER
ATTENTION`` (its sample response shows ``MORE INFORMATION IS REQUIRED``): the table is
the document's list of "all values that will be returned".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from otpgate.core.model import Channel
from otpgate.flows.phonematch.catalog import SERVICES
from otpgate.flows.phonematch.records import FinalOutcome, Transaction
from otpgate.flows.phonematch.service import (
    EXPIRED_ISSUE,
    MAX_ATTEMPTS_ISSUE,
    BeginResult,
    CheckOutcome,
    CheckResult,
    SendOutcome,
)

PASS, FAIL, PENDING = "PASS", "FAIL", "PENDING"
OUT_OF_BAND_FAILED = "FAILED OUT-OF-BAND CHECK"
CONTINUE_URL = "/process/continue"
STATUS_URL = "/process/status"

SEND_ANSWERS: dict[SendOutcome, tuple[str, str]] = {
    SendOutcome.SENT: (PENDING, "TRANSACTION REQUIRES FURTHER ATTENTION"),
    SendOutcome.SUPPRESSED: (FAIL, "SUPPRESSED SENDING CODE"),
    SendOutcome.DATA_CHECK_FAILED: (FAIL, "DATA CHECK FAILED"),
    SendOutcome.UNDELIVERED: (FAIL, "FAILED TO SEND TO NUMBER"),
}

CHECK_ANSWERS: dict[CheckOutcome, tuple[str, str]] = {
    CheckOutcome.MATCHED: (PASS, "ALL CHECKS PASSED"),
    CheckOutcome.MISMATCHED: (FAIL, OUT_OF_BAND_FAILED),
    CheckOutcome.MAX_ATTEMPTS: (FAIL, OUT_OF_BAND_FAILED),
    CheckOutcome.EXPIRED: (FAIL, OUT_OF_BAND_FAILED),
    CheckOutcome.CLOSED: (FAIL, OUT_OF_BAND_FAILED),
}

FINAL_ANSWERS: dict[FinalOutcome, tuple[str, str]] = {
    FinalOutcome.MATCHED: (PASS, "ALL CHECKS PASSED"),
    FinalOutcome.MAX_ATTEMPTS: (FAIL, OUT_OF_BAND_FAILED),
    FinalOutcome.EXPIRED: (FAIL, OUT_OF_BAND_FAILED),
}

FINAL_ISSUES: dict[FinalOutcome, list[str]] = {
    FinalOutcome.MATCHED: [],
    FinalOutcome.MAX_ATTEMPTS: [MAX_ATTEMPTS_ISSUE],
    FinalOutcome.EXPIRED: [EXPIRED_ISSUE],
}

INSTRUCTIONS = {
    Channel.SMS: "A code has been delivered to the provided number.  "
    "Please resubmit the code to complete the transaction.",
    Channel.VOICE: "A code has been delivered to the provided number.  "
    "Please resubmit the code to complete the transaction.",
    Channel.EMAIL: "A code has been delivered to the provided email address.  "
    "Please resubmit the code to complete the transaction.",
}


@dataclass(frozen=True, slots=True)
class Meta:
    """What every answer's ``meta`` echoes, as far as the request got."""

    service: str | None = None
    reference: str | None = None
    company: str | None = None
    user: str | None = None

    @classmethod
    def of(cls, transaction: Transaction) -> Meta:
        t = transaction
        return cls(service=t.service, reference=t.reference, company=t.company, user=t.user)

    def body(self, confirmation: int, at: float) -> dict[str, Any]:
        return {
            "confirmation": confirmation,
            "reference": self.reference,
            "service": self.service,
            "timestamp": timestamp(at),
            "company": self.company,
            "user": self.user,
        }


def timestamp(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def result_body(action: str, detail: str, issues: list[str]) -> dict[str, Any]:
    return {"action": action, "detail": detail, "issues": issues}


def _continuation(token: str, service: str) -> dict[str, Any]:
    return {
        "outofband": {
            "url": CONTINUE_URL,
            "template": {"token": token, "codematch": {"key": None}},
            "instructions": INSTRUCTIONS[SERVICES.get(service, Channel.SMS)],
        }
    }


def _final(token: str) -> dict[str, Any]:
    return {"template": {"token": token}, "url": STATUS_URL}


def begin_body(result: BeginResult, meta: Meta) -> dict[str, Any]:
    action, detail = SEND_ANSWERS[result.outcome]
    body: dict[str, Any] = {
        "output": {"outofband": {}},
        "meta": meta.body(result.confirmation, result.at),
        "result": result_body(action, detail, list(result.issues)),
    }
    if result.token is not None and meta.service is not None:
        body["continuations"] = _continuation(result.token, meta.service)
    return body


def check_body(result: CheckResult, token: str) -> dict[str, Any]:
    action, detail = CHECK_ANSWERS[result.outcome]
    meta = Meta.of(result.transaction)
    body: dict[str, Any] = {
        "output": {"codematch": {"key_matched": result.outcome is CheckOutcome.MATCHED}},
        "meta": meta.body(result.confirmation, result.at),
        "result": result_body(action, detail, list(result.issues)),
    }
    if result.final_token is not None:
        body["final"] = _final(result.final_token)
    elif result.open:
        body["continuations"] = _continuation(token, result.transaction.service)
    return body


def status_body(transaction: Transaction, final_token: str) -> dict[str, Any]:
    outcome = transaction.outcome or FinalOutcome.EXPIRED
    matched = outcome is FinalOutcome.MATCHED
    action, detail = FINAL_ANSWERS[outcome]
    at = transaction.finished_at or transaction.created_at
    return {
        "output": {"codematch": {"key_matched": matched}},
        "meta": Meta.of(transaction).body(transaction.confirmation or 0, at),
        "result": result_body(action, detail, list(FINAL_ISSUES[outcome])),
        "final": _final(final_token),
    }
