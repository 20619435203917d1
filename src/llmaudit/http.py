"""The one HTTP client of llmaudit (provider pulls, ``estimate --exact``, PR comments, alert
webhooks): explicit timeouts, a User-Agent, bounded retries with backoff and jitter on
connection errors, 429 and 5xx (honouring Retry-After), bounded bodies, and no secret in any
message or debug line."""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from llmaudit import __version__
from llmaudit.errors import ProviderConnectionError, ProviderError

RETRIES = 4
MAX_WAIT = 60.0  # the longest single wait between attempts
TIMEOUT = 30.0  # connect, and each read
# Bounds a hostile or broken server cannot push past (README, "What can go wrong"):
MAX_BODY = 64 * 1024 * 1024  # bytes of one response
REQUEST_DEADLINE = 120.0  # seconds for one response, however slowly it drips in
RETRY_BUDGET = 180.0  # seconds of Retry-After / backoff waits for one client, in all


def pause(seconds: float) -> None:
    """Wait between attempts. Looked up at each wait, so a test can make it instant."""
    time.sleep(seconds)


class Client:
    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        provider: str,
        key_env: str | None,
        secrets: list[str],
        debug: bool = False,
        sleep: Callable[[float], None] | None = None,
        key_kind: str = "an admin key",
        retries: int = RETRIES,
        timeout: float = TIMEOUT,
        deadline: float | None = None,
    ) -> None:
        """``provider`` names the other end in messages; ``key_env`` the variable holding its
        key (None: no key, so a 401/403 is an ordinary refusal)."""
        import httpx

        self.provider = provider
        self.retries = retries
        self.deadline = deadline  # seconds for one response (None: REQUEST_DEADLINE)
        self.last_failure = ""  # why the last attempt failed: "ReadTimeout", "HTTP 503"
        self.last_status: int | None = None
        self.key_env = key_env
        self.key_kind = key_kind
        self.secrets = [s for s in secrets if s]
        self.debug = debug
        self.sleep = sleep or (lambda seconds: pause(seconds))
        self.waited = 0.0
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"User-Agent": f"llmaudit/{__version__}", **headers},
            timeout=timeout,
        )

    def close(self) -> None:
        self.http.close()

    def redact(self, text: str) -> str:
        """Known secrets, and credentials in a URL (``https://user:pass@proxy``), hidden."""
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return redact_url_credentials(text)

    def log(self, message: str) -> None:
        if self.debug:
            sys.stderr.write(self.redact(f"debug: {message}") + "\n")

    def get_json(self, path: str, params: list[tuple[str, str]]) -> tuple[Any, str]:
        """GET and decode JSON; returns (body, the request URL without credentials)."""
        return self.request_json("GET", path, params=params)

    def post_json(self, path: str, body: Any) -> tuple[Any, str]:
        return self.request_json("POST", path, json_body=body)

    def post(self, path: str, body: Any) -> int:
        """POST a JSON body to an endpoint whose answer is not JSON (a webhook); its status."""
        self.request_json("POST", path, json_body=body, decode=False)
        return self.last_status or 0

    def request_text(
        self, path: str, params: list[tuple[str, str]], content: bytes
    ) -> tuple[int, str]:
        """POST ``content`` as it is; (status, body text) whatever the status (a database
        answers its own errors in the body). Only failures to connect are retried: a
        statement is not sent twice once an answer came back."""
        import httpx

        for attempt in range(self.retries + 1):
            try:
                response = self._fetch("POST", path, params, None, content)
            except httpx.HTTPError as exc:
                last = self.last_failure = f"{type(exc).__name__}"
                self.log(f"POST {path}: {last}")
                if attempt == self.retries or not isinstance(exc, httpx.ConnectError):
                    raise ProviderConnectionError(
                        f"{self.provider}: cannot reach {self.http.base_url.host}:"
                        f"{self.http.base_url.port} ({last})",
                        hint="check the address in --db, the network, or a proxy",
                    ) from None
                self._wait(self._backoff(attempt, None), path, last)
                continue
            self.last_status = response.status_code
            self.log(f"POST {self.redact(str(response.request.url))} -> {response.status_code}")
            return response.status_code, response.content.decode("utf-8", "replace")
        raise AssertionError("unreachable")

    def request_json(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]] | None = None,
        json_body: Any = None,
        decode: bool = True,
    ) -> tuple[Any, str]:
        import httpx

        last = ""
        retries = self.retries
        for attempt in range(retries + 1):
            try:
                response = self._fetch(method, path, params, json_body)
            except httpx.HTTPError as exc:
                last = self.last_failure = f"{type(exc).__name__}"
                self.log(f"{method} {path}: {last}")
                if attempt == retries:
                    raise ProviderConnectionError(
                        f"{self.provider}: cannot reach {self.http.base_url.host} ({last})",
                        hint="check the network, --base-url, or a proxy",
                    ) from None
                self._wait(self._backoff(attempt, None), path, last)
                continue
            url = self.redact(str(response.request.url))
            self.log(f"{method} {url} -> {response.status_code}")
            self.last_status = response.status_code
            if response.status_code in (401, 403) and self.key_env:
                raise ProviderError(
                    f"{self.provider}: {path} refused the key ({response.status_code}): "
                    f"{self.key_kind} is needed; set {self.key_env}"
                )
            if response.status_code == 429 or response.status_code >= 500:
                last = self.last_failure = f"HTTP {response.status_code}"
                if attempt == retries:
                    raise ProviderError(
                        f"{self.provider}: {path} kept answering {last} after "
                        f"{retries} retries; try again later"
                    )
                self._wait(self._backoff(attempt, response.headers.get("retry-after")), path, last)
                continue
            if response.status_code >= 400:
                self.last_failure = f"HTTP {response.status_code}"
                raise ProviderError(
                    f"{self.provider}: {path} answered HTTP "
                    f"{response.status_code}: {self._error_text(response)}"
                )
            if not decode or response.status_code == 204 or not response.content.strip():
                return None, url  # a DELETE, or another answer without a body
            try:
                return response.json(), url
            except (ValueError, json.JSONDecodeError):
                raise ProviderError(
                    f"{self.provider}: {path} did not answer JSON (HTTP {response.status_code})"
                ) from None
        raise AssertionError("unreachable")

    def _fetch(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]] | None,
        json_body: Any,
        content: bytes | None = None,
    ) -> Any:
        """One request, its body read in chunks: refused past MAX_BODY bytes or
        REQUEST_DEADLINE seconds (a body drip-fed a byte at a time never stalls a pull)."""
        import httpx

        started = time.monotonic()
        query: Any = params  # httpx's own list type is invariant; a list of str pairs is valid
        request = self.http.build_request(
            method, path.lstrip("/"), params=query, json=json_body, content=content
        )
        response = self.http.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BODY:
                raise self._too_big(path)
            chunks = []
            size = 0
            for chunk in response.iter_bytes():  # decoded: a gzip bomb counts as what it is
                size += len(chunk)
                if size > MAX_BODY:
                    raise self._too_big(path)
                limit = REQUEST_DEADLINE if self.deadline is None else self.deadline
                if time.monotonic() - started > limit:
                    raise ProviderError(
                        f"{self.provider}: {path} took over {limit:.0f} s to answer; stopped"
                    )
                chunks.append(chunk)
        finally:
            response.close()
        # a plain response holding the decoded bytes read
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-encoding"]
        return httpx.Response(
            response.status_code, headers=headers, content=b"".join(chunks), request=request
        )

    def _too_big(self, path: str) -> ProviderError:
        return ProviderError(
            f"{self.provider}: {path} answered more than {MAX_BODY // (1024 * 1024)} MiB; stopped"
        )

    def _wait(self, seconds: float, path: str, last: str) -> None:
        if self.waited + seconds > RETRY_BUDGET:
            raise ProviderError(
                f"{self.provider}: {path} answered {last} and asked to wait "
                f"{seconds:.0f} s more, past the {RETRY_BUDGET:.0f} s retry budget; "
                "try again later"
            )
        self.waited += seconds
        self.sleep(seconds)

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


_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+(?::[^/\s@]*)?@")


def redact_url_credentials(text: str) -> str:
    """``https://user:secret@proxy:8080`` -> ``https://[REDACTED]@proxy:8080``."""
    return _URL_CREDENTIALS.sub(r"\1[REDACTED]@", text)
