"""Bad settings end every command with one line per problem and status 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from otpgate.problems import settings_problems
from otpgate.settings import Settings
from tests.support.server import SRC


def otpgate(tmp_path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otpgate", *args],
        env={
            **os.environ,
            "PYTHONPATH": str(SRC),
            "OTPGATE_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
            **env,
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["serve"],
        ["init"],
        ["migrate-db"],
        ["outbox"],
        ["providers", "check"],
        ["purge"],
        ["keys", "create", "--environment", "sandbox"],
        ["tenants", "list"],
        ["sponsors", "list"],
    ],
)
def test_every_command_refuses_bad_settings_in_one_line_each(tmp_path, args):
    done = otpgate(tmp_path, {"OTPGATE_OTP_TTL_SECONDS": "20", "OTPGATE_CODE_LENGTH": "six"}, *args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.splitlines() == [
        "otpgate: OTPGATE_OTP_TTL_SECONDS=20: too small (allowed: 30 to 86400)",
        "otpgate: OTPGATE_CODE_LENGTH=six: not a whole number (allowed: 4 to 10)",
    ]


def test_serve_refuses_a_provider_configuration_error(tmp_path):
    done = otpgate(
        tmp_path,
        {
            "OTPGATE_SMS_PROVIDERS": "webhook",
            "OTPGATE_WEBHOOK_URL": "https://gateway.example/otp",
            "OTPGATE_WEBHOOK_SECRET": "too-short",
        },
        "serve",
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "otpgate: OTPGATE_WEBHOOK_SECRET must be at least 16 characters"
    ]
    assert "too-short" not in done.stderr


def test_a_provider_error_raised_by_a_command_ends_in_status_2(tmp_path):
    # sponsors commands build the whole service, providers included.
    done = otpgate(tmp_path, {"OTPGATE_EMAIL_PROVIDERS": "smtp"}, "sponsors", "list")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert all(line.startswith("otpgate: OTPGATE_SMTP_") for line in done.stderr.splitlines())


def problems(**env: str) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, **env)  # type: ignore[arg-type]
    return settings_problems(caught.value, Settings)


def test_lines_say_the_allowed_values_and_hide_secrets():
    assert problems(smtp_security="ssl") == [
        "OTPGATE_SMTP_SECURITY=ssl: not one of the allowed values (allowed: none, starttls, tls)"
    ]
    assert problems(demo_enabled="maybe") == [
        "OTPGATE_DEMO_ENABLED=maybe: not a yes/no value (allowed: true or false)"
    ]
    assert problems(delivery_timeout_seconds="0") == [
        "OTPGATE_DELIVERY_TIMEOUT_SECONDS=0: too small (allowed: a number above 0 and at most 120)"
    ]
    assert problems(retention_seconds="60") == [
        "OTPGATE_RETENTION_SECONDS=60: too small (allowed: a whole number at least 3600)"
    ]
    assert problems(smtp_port="99999") == [
        "OTPGATE_SMTP_PORT=99999: too large (allowed: 1 to 65535)"
    ]
    assert problems(code_secret=12345678901234567) == ["OTPGATE_CODE_SECRET: not text"]
