"""The install's secrets, from the environment or a file: never from the database.

Each secret is an ``OTPGATE_*`` setting. A value in the environment (or ``.env``) wins;
otherwise it comes from the secrets file (``OTPGATE_SECRETS_FILE``, default
``./var/secrets``), one ``NAME=value`` a line, mode 0600::

    # otpgate secrets: back this file up apart from the database.
    OTPGATE_CODE_SECRET=…base64…
    OTPGATE_OAUTH_SIGNING_KEY=…base64…
    OTPGATE_LOOKUP_KEY=…base64…
    OTPGATE_DATA_KEY=…base64…

``*_PREVIOUS`` lines (code secret, signing key, data key) keep sessions and tokens made
under the old value valid, and data sealed under the old key readable, while a rotation
is under way. The lookup key keys destination fingerprints (limits, lockouts) and
outbox lookups, and never rotates. The data key encrypts destinations and personal
details at rest (``adapters/sql/sealed.py``). ``OTPGATE_WEBHOOK_SECRET`` may live
here too.

``provision(…, create=True)`` (``otpgate init``; ``otpgate serve`` on SQLite) adds what
is missing: it moves secrets an older release kept in the ``app_secrets`` table into the
file, then deletes those rows, and generates the others. Every process of a deployment
then reads the same file (or the same environment). Without ``create`` nothing is
written, and missing secrets raise ``MissingSecrets`` with one line per problem.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from otpgate.adapters.delivery.base import ConfigurationError
from otpgate.settings import Settings

# Variable names, not values (ruff S105 reads "SECRET" as a hard-coded password).
CODE_SECRET = "OTPGATE_CODE_SECRET"  # noqa: S105
CODE_SECRET_PREVIOUS = "OTPGATE_CODE_SECRET_PREVIOUS"  # noqa: S105
OAUTH_SIGNING_KEY = "OTPGATE_OAUTH_SIGNING_KEY"
OAUTH_SIGNING_KEY_PREVIOUS = "OTPGATE_OAUTH_SIGNING_KEY_PREVIOUS"
LOOKUP_KEY = "OTPGATE_LOOKUP_KEY"
DATA_KEY = "OTPGATE_DATA_KEY"
DATA_KEY_PREVIOUS = "OTPGATE_DATA_KEY_PREVIOUS"
WEBHOOK_SECRET = "OTPGATE_WEBHOOK_SECRET"  # noqa: S105
NAMES = (
    CODE_SECRET,
    CODE_SECRET_PREVIOUS,
    OAUTH_SIGNING_KEY,
    OAUTH_SIGNING_KEY_PREVIOUS,
    LOOKUP_KEY,
    DATA_KEY,
    DATA_KEY_PREVIOUS,
    WEBHOOK_SECRET,
)
REQUIRED = (CODE_SECRET, OAUTH_SIGNING_KEY, LOOKUP_KEY, DATA_KEY)
GENERATED_BYTES = {CODE_SECRET: 32, OAUTH_SIGNING_KEY: 32, LOOKUP_KEY: 32, DATA_KEY: 32}
MIN_BYTES = {CODE_SECRET: 16, CODE_SECRET_PREVIOUS: 16, LOOKUP_KEY: 16}
MIN_BYTES |= {OAUTH_SIGNING_KEY: 32, OAUTH_SIGNING_KEY_PREVIOUS: 32}
MIN_BYTES |= {DATA_KEY: 32, DATA_KEY_PREVIOUS: 32}
LEGACY_ROWS = {"code_secret_v1": CODE_SECRET, "oauth_signing_key_v1": OAUTH_SIGNING_KEY}
"""``app_secrets`` rows of older releases, and the setting each becomes."""

HEADER = (
    "# otpgate secrets (docs: README, Secrets). Keep this file out of the database's\n"
    "# backups and readable by otpgate alone; every process of a deployment needs it.\n"
)


class MissingSecrets(ConfigurationError):
    """Secrets are missing or malformed; ``problems`` has one line each."""


@dataclass(frozen=True, slots=True)
class Secrets:
    code: tuple[bytes, ...]
    """Code secrets, the current one first."""
    oauth: tuple[bytes, ...]
    """Access-token signing keys, the current one first."""
    lookup: bytes
    data: tuple[bytes, ...] = ()
    """Data keys (at-rest encryption), the current one first."""
    webhook: str | None = None


def secret_bytes(raw: str) -> bytes:
    """Base64 of at least 16 bytes is decoded; any other text is taken as its UTF-8."""
    try:
        decoded = base64.b64decode(raw, validate=True)
        if len(decoded) >= 16:
            return decoded
    except (binascii.Error, ValueError):
        pass
    return raw.encode()


def read_file(path: Path) -> dict[str, str]:
    """The ``NAME=value`` lines of ``path`` (empty values dropped); ``{}`` if it is absent."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    values = {}
    for line in text.splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and not name.startswith("#") and value.strip():
            values[name.strip()] = value.strip()
    return values


def from_environment(settings: Settings) -> dict[str, str]:
    """The secrets the settings carry (environment or ``.env``), by variable name."""
    values = {
        CODE_SECRET: settings.code_secret,
        CODE_SECRET_PREVIOUS: settings.code_secret_previous,
        OAUTH_SIGNING_KEY: _reveal(settings.oauth_signing_key),
        OAUTH_SIGNING_KEY_PREVIOUS: _reveal(settings.oauth_signing_key_previous),
        LOOKUP_KEY: _reveal(settings.lookup_key),
        DATA_KEY: _reveal(settings.data_key),
        DATA_KEY_PREVIOUS: _reveal(settings.data_key_previous),
        WEBHOOK_SECRET: _reveal(settings.webhook_secret),
    }
    return {name: value for name, value in values.items() if value}


def _reveal(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def with_file_secrets(settings: Settings, found: Secrets) -> Settings:
    """``settings`` with the file's webhook secret when the environment sets none."""
    if settings.webhook_secret is not None or found.webhook is None:
        return settings
    return settings.model_copy(update={"webhook_secret": SecretStr(found.webhook)})


def assemble(values: Mapping[str, str]) -> Secrets:
    """``Secrets`` from variable values; ``MissingSecrets`` naming each problem."""
    problems = [f"{name} is not set" for name in REQUIRED if name not in values]
    for name, least in MIN_BYTES.items():
        if name in values and len(secret_bytes(values[name])) < least:
            problems.append(f"{name} must be at least {least} bytes (base64 or text)")
    if problems:
        raise MissingSecrets(problems)

    def chain(current: str, previous: str) -> tuple[bytes, ...]:
        return tuple(secret_bytes(values[n]) for n in (current, previous) if n in values)

    return Secrets(
        code=chain(CODE_SECRET, CODE_SECRET_PREVIOUS),
        oauth=chain(OAUTH_SIGNING_KEY, OAUTH_SIGNING_KEY_PREVIOUS),
        lookup=secret_bytes(values[LOOKUP_KEY]),
        data=chain(DATA_KEY, DATA_KEY_PREVIOUS),
        webhook=values.get(WEBHOOK_SECRET),
    )


def load(settings: Settings) -> Secrets:
    """Read-only: the environment over the file. ``MissingSecrets`` if incomplete."""
    path = Path(settings.secrets_file)
    try:
        values = read_file(path) | from_environment(settings)
    except OSError as exc:
        raise MissingSecrets([f"cannot read the secrets file {path}: {exc.strerror}"]) from None
    if not any(name in values for name in REQUIRED):
        raise MissingSecrets([f"no secrets ({path} is missing or empty): {how_to_create(path)}"])
    try:
        return assemble(values)
    except MissingSecrets as exc:
        exc.problems[:] = [
            f"{line} (in neither the environment nor {path}): {how_to_create(path)}"
            if line.endswith("is not set")
            else line
            for line in exc.problems
        ]
        raise


def load_optional(settings: Settings) -> Secrets | None:
    """``load``, or None when secrets are incomplete (``otpgate providers check``)."""
    try:
        return load(settings)
    except MissingSecrets:
        return None


def how_to_create(path: Path) -> str:
    return (
        f"run `otpgate init` to create {path} (or set OTPGATE_CODE_SECRET, "
        "OTPGATE_OAUTH_SIGNING_KEY, OTPGATE_LOOKUP_KEY and OTPGATE_DATA_KEY), and give "
        "every process the same"
    )


class LegacyStore(Protocol):
    """The ``app_secrets`` table of older releases (``adapters/sql/accounts.py``)."""

    async def read(self) -> dict[str, str]: ...

    async def delete(self, names: list[str]) -> None: ...


async def provision(settings: Settings, legacy: LegacyStore, *, create: bool) -> Secrets:
    """The secrets every process uses; with ``create``, first completes the file (moving
    secrets out of the database, then deleting them there). Without it, secrets still in
    the database are a problem: ``otpgate init`` moves them."""
    path = Path(settings.secrets_file)
    rows = await legacy.read()
    if rows and not create:
        raise MissingSecrets(
            [f"secrets are still in the database: run `otpgate init` once to move them to {path}"]
        )
    if create:
        present = from_environment(settings)
        moved = {
            LEGACY_ROWS[name]: base64.b64encode(base64.urlsafe_b64decode(value)).decode()
            for name, value in rows.items()
            if name in LEGACY_ROWS
        }
        add_missing(path, present, moved)
        if rows:
            await legacy.delete(list(rows))
    return load(settings)


def add_missing(
    path: Path, present: Mapping[str, str], legacy: Mapping[str, str]
) -> dict[str, str]:
    """Under the file's lock: write into ``path`` each required secret that neither the
    file nor ``present`` (the environment) has, from ``legacy`` (old database rows) when
    it holds one, else freshly generated. Returns the file's values."""
    with _locked(path):
        values = read_file(path)
        added = {}
        for name in REQUIRED:
            if name in values or name in present:
                continue
            added[name] = legacy.get(name) or _generate(GENERATED_BYTES[name])
        if added or not path.exists():
            _write(path, values | added)
        return values | added


def _generate(nbytes: int) -> str:
    return base64.b64encode(secrets.token_bytes(nbytes)).decode()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer at a time across processes (two ``serve`` starting together)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write(path: Path, values: Mapping[str, str]) -> None:
    """Atomically (a temporary file renamed over it), durably, mode 0600."""
    ordered = [n for n in NAMES if n in values] + sorted(set(values) - set(NAMES))
    text = HEADER + "".join(f"{name}={values[name]}\n" for name in ordered)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
