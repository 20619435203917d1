"""The one HTTP client of llmaudit: explicit timeouts, a User-Agent, bounded retries with
backoff and jitter on connection errors, 429 and 5xx (honouring Retry-After), and no secret in
any message or debug line."""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from llmaudit import __version__
from llmaudit.errors import ProviderConnectionError, ProviderError

RETRIES = 4
MAX_WAIT = 60.0
TIMEOUT = 30.0


class Client:
    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        provider: str,
        key_env: str,
        secrets: list[str],
        debug: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        key_kind: str = "an admin key",
    ) -> None:
        import httpx

        self.provider = provider
        self.key_env = key_env
        self.key_kind = key_kind
        self.secrets = [s for s in secrets if s]
        self.debug = debug
        self.sleep = sleep
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"User-Agent": f"llmaudit/{__version__}", **headers},
            timeout=TIMEOUT,
        )

    def close(self) -> None:
        self.http.close()

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return text

    def log(self, message: str) -> None:
        if self.debug:
            sys.stderr.write(self.redact(f"debug: {message}") + "\n")

    def get_json(self, path: str, params: list[tuple[str, str]]) -> tuple[Any, str]:
        """GET and decode JSON; returns (body, the request URL without credentials)."""
        return self.request_json("GET", path, params=params)

    def post_json(self, path: str, body: Any) -> tuple[Any, str]:
        return self.request_json("POST", path, json_body=body)

    def request_json(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]] | None = None,
        json_body: Any = None,
    ) -> tuple[Any, str]:
        import httpx

        last = ""
        for attempt in range(RETRIES + 1):
            try:
                response = self.http.request(
                    method, path.lstrip("/"), params=params, json=json_body
                )
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
                self.log(f"{method} {path}: {last}")
                if attempt == RETRIES:
                    raise ProviderConnectionError(
                        f"{self.provider}: cannot reach {self.http.base_url.host} ({last})",
                        hint="check the network, --base-url, or a proxy",
                    ) from None
                self.sleep(self._backoff(attempt, None))
                continue
            url = self.redact(str(response.request.url))
            self.log(f"{method} {url} -> {response.status_code}")
            if response.status_code in (401, 403):
                raise ProviderError(
                    f"{self.provider}: {path} refused the key ({response.status_code}): "
                    f"{self.key_kind} is needed; set {self.key_env}"
                )
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                if attempt == RETRIES:
                    raise ProviderError(
                        f"{self.provider}: {path} kept answering {last} after "
                        f"{RETRIES} retries; try again later"
                    )
                self.sleep(self._backoff(attempt, response.headers.get("retry-after")))
                continue
            if response.status_code >= 400:
                raise ProviderError(
                    f"{self.provider}: {path} answered HTTP "
                    f"{response.status_code}: {self._error_text(response)}"
                )
            try:
                return response.json(), url
            except (ValueError, json.JSONDecodeError):
                raise ProviderError(
                    f"{self.provider}: {path} did not answer JSON (HTTP {response.status_code})"
                ) from None
        raise AssertionError("unreachable")

    def _error_text(self, response: Any) -> str:
        try:
            body = response.json()
            err = body.get("error") if isinstance(body, dict) else None
            message = err.get("message") if isinstance(err, dict) else None
            return self.redact(str(message or body)[:300])
        except ValueError:
            return self.redact(response.text[:300])

    @staticmethod
    def _backoff(attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(MAX_WAIT, max(0.0, float(retry_after)))
            except ValueError:
                pass
        return min(MAX_WAIT, 0.5 * 2**attempt + random.uniform(0, 0.25))
