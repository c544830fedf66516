"""What the HTTP providers share: one pooled client, bounded timeouts, failure mapping.

A timeout, a refused or dropped connection and a 5xx answer are worth retrying; a 4xx
is not (the request itself is wrong); a 2xx whose body cannot be read is a failure
that is not retried either (the message may have gone out: never send it twice).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from otpgate.adapters.delivery.base import ProviderError
from otpgate.observability import redact_text


class HttpProvider:
    name = "http"

    def __init__(self, *, timeout: float) -> None:
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                headers={"User-Agent": "otpgate"},
                follow_redirects=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST, mapping transport failures and non-2xx answers to ``ProviderError``."""
        try:
            response = await self.client().post(url, **kwargs)
        except httpx.TimeoutException:
            raise ProviderError(
                f"{self.name}: no answer within {self.timeout:g}s", status_code=504
            ) from None
        except httpx.ConnectError:
            raise ProviderError(f"{self.name}: connection refused", status_code=503) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            raise ProviderError(f"{self.name}: connection closed", status_code=503) from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"{self.name}: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise ProviderError(
                f"{self.name}: HTTP {response.status_code}", status_code=response.status_code
            )
        if response.status_code >= 300:
            raise ProviderError(
                f"{self.name}: HTTP {response.status_code}{describe_error(response)}",
                status_code=response.status_code if response.status_code >= 400 else 502,
                retryable=False,
            )
        return response

    def json_object(self, response: httpx.Response, *, empty_ok: bool = False) -> dict[str, Any]:
        if empty_ok and not response.content.strip():
            return {}
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderError(
                f"{self.name}: answered HTTP {response.status_code} with garbage, not JSON",
                retryable=False,
            )
        return body


def describe_error(response: httpx.Response) -> str:
    """``: error 21211, <message>`` from a provider's JSON error body, redacted."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return ""
    if not isinstance(body, Mapping):
        return ""
    code = body.get("code") or body.get("error_code")
    text = body.get("message") or body.get("error") or body.get("title") or ""
    parts = []
    if isinstance(code, int | str) and str(code):
        parts.append(f"error {code}")
    if isinstance(text, str) and text:
        parts.append(redact_text(text)[:120])
    return ": " + ", ".join(parts) if parts else ""
