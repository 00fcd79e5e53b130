"""Where each attempt's ``Authorization`` value comes from: a static token or a provider."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Union, cast

from . import _checks
from ._bounds import Progress
from ._redact import Secret
from .errors import Gr4vyError, TokenProviderError

__all__ = ["Bearer", "BearerAuth"]

#: A token, or a function (sync or async) that returns one for each request.
BearerAuth = Union[str, Callable[[], str], Callable[[], Awaitable[str]]]  # noqa: UP007


class Bearer:
    """``bearer_auth`` checked once: :attr:`static` for a token, else :meth:`from_provider`."""

    __slots__ = ("_cached_token", "_fetch_token", "_last", "static")

    def __init__(self, bearer_auth: BearerAuth) -> None:
        if isinstance(bearer_auth, str):
            self.static: str | None = _checks.bearer_header(bearer_auth)
        elif callable(bearer_auth):
            self.static = None
        else:
            raise _checks.invalid(
                "bearer_auth",
                f"a token string or a function returning one, got {type(bearer_auth).__name__}",
                "not a token",
            )
        # A provider with a coroutine ``token_async`` (``auth.with_token``'s)
        # is awaited through it: it signs off the event loop.
        self._fetch_token = cast(
            "Callable[[], object]", getattr(bearer_auth, "token_async", bearer_auth)
        )
        self._cached_token = cast(
            "Callable[[], str | None] | None", getattr(bearer_auth, "cached_token", None)
        )
        #: The provider's last token and its checked header value.
        self._last: tuple[str, str] | None = None

    async def from_provider(self, progress: Progress) -> str:
        """The provider's token for this attempt; its own failure becomes a Gr4vyError.

        A token the provider has at hand (``cached_token()``) is taken without
        a timer; one that must be awaited is awaited until the deadline.
        """
        try:
            token: Any = self._cached_token() if self._cached_token is not None else None
            if token is None:
                token = self._fetch_token()
            if not isinstance(token, str) and inspect.isawaitable(token):
                token = await progress.within(token)
            if inspect.iscoroutine(token):
                token.close()  # refused below; closed, so no "never awaited" warning
        except Gr4vyError:
            raise
        except Exception as exc:
            if progress.expired(exc):
                raise  # the attempt says the provider did not return in time
            raise TokenProviderError(
                f"bearer_auth: the token provider raised {type(exc).__name__}"
            ) from exc
        # A provider returns the same token for minutes, and scanning a JWT of
        # ~500 characters for control characters costs more than the rest of
        # our work per request (benchmarks/README.md, "Hot path"): a token
        # string equal to the last one is not checked (nor copied) again.
        # Nothing below raises before ``token`` is wrapped: no printed frame
        # shows it bare.
        last = self._last
        if last is None or not isinstance(token, str) or last[0] != token:
            if isinstance(token, str):
                token = Secret(token)  # this frame's locals may be printed
            last = self._last = (token, _checks.bearer_header(token))
        return last[1]
