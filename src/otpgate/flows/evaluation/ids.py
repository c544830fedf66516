"""The evaluation API's ``eval_id``: a UUID, which otpgate writes in its canonical form."""

from __future__ import annotations

import uuid

from otpgate.core.errors import InvalidInput


def check_eval_id(raw: str) -> str:
    """``raw`` as a canonical UUID; ``InvalidInput`` (``eval_id``) if it is none."""
    try:
        return str(uuid.UUID(raw))
    except ValueError as exc:
        raise InvalidInput("eval_id", "eval_id must be a UUID") from exc
