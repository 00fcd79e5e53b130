"""``client.checkout_sessions``: create, get, update and delete checkout sessions."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterable, Callable, Coroutine, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET, UnsetType

from . import models
from ._call_options import call_options
from ._codec import encode_fields, encode_request
from ._transport import Transport
from .errors import InvalidRequestError
from .retries import RetryConfig
from .session_ids import canonical_session_id

if TYPE_CHECKING:
    from .bulk import BulkOptions, BulkProgress, BulkReport

__all__ = ["CheckoutSessions", "canonical_session_id"]

_COLLECTION = "/checkout/sessions"


def _session_path(session_id: str | uuid.UUID) -> str:
    """The URL path of a session."""
    return f"{_COLLECTION}/{canonical_session_id(session_id)}"


class CheckoutSessions:
    """The checkout-session operations, as in the official SDK (``async`` here).

    Every method also takes, for this call only: ``merchant_account_id``
    (sent as ``x-gr4vy-merchant-account-id``; ``None`` sends none; left out,
    the client's), ``timeout_in_seconds`` or ``timeout_ms``, ``retries`` (a
    :class:`~gr4vy_async.RetryConfig`, which SDK 2.4.27's
    :func:`gr4vy_async.utils.RetryConfig` also builds), ``http_headers`` (set or replace
    headers), ``server_url`` (another base URL, checked like the
    client's) and ``deadline`` (seconds the whole call may take, retries
    included; left out, the client's). ``create_async``, ``get_async``, ``update_async`` and
    ``delete_async`` are the same methods under SDK 2.4.27's names.
    """

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def create(
        self,
        *,
        request_body: models.CheckoutSessionUpdate
        | Mapping[str, Any]
        | Sequence[models.BaseModel]
        | None = None,
        checkout_session_create: models.CheckoutSessionCreate | Mapping[str, Any] | None = None,
        merchant_account_id: str | UnsetType | None = UNSET,
        timeout_in_seconds: float | None = None,
        retries: RetryConfig | None = None,
        timeout_ms: float | None = None,
        http_headers: Mapping[str, str] | None = None,
        server_url: str | None = None,
        deadline: float | None = None,
    ) -> models.CheckoutSession:
        """Create a checkout session. Its ``id`` is what Embed and a payment use.

        The body is ``request_body`` (the seed's name) or
        ``checkout_session_create`` (SDK 2.4.27's), not both.
        """
        if checkout_session_create is not None:
            if request_body is not None:
                raise InvalidRequestError(
                    "checkout_session_create: pass request_body or checkout_session_create, "
                    "not both"
                )
            request_body = checkout_session_create
        body = None
        if request_body is not None:
            body_type: Any = (
                models.CheckoutSessionUpdate
                if isinstance(request_body, (models.CheckoutSessionUpdate, Mapping))
                else list[models.BaseModel]
            )
            body = encode_request(request_body, body_type)
        return await self._transport.request(
            "POST",
            _COLLECTION,
            body,
            models.CheckoutSession,
            call_options(
                merchant_account_id,
                timeout_in_seconds,
                retries,
                timeout_ms,
                http_headers,
                server_url,
                deadline,
            ),
        )

    async def get(
        self,
        *,
        session_id: str | uuid.UUID,
        merchant_account_id: str | UnsetType | None = UNSET,
        timeout_in_seconds: float | None = None,
        retries: RetryConfig | None = None,
        timeout_ms: float | None = None,
        http_headers: Mapping[str, str] | None = None,
        server_url: str | None = None,
        deadline: float | None = None,
    ) -> models.CheckoutSession:
        """Retrieve the information stored on a checkout session."""
        return await self._transport.request(
            "GET",
            _session_path(session_id),
            None,
            models.CheckoutSession,
            call_options(
                merchant_account_id,
                timeout_in_seconds,
                retries,
                timeout_ms,
                http_headers,
                server_url,
                deadline,
            ),
        )

    async def update(
        self,
        *,
        session_id: str | uuid.UUID,
        cart_items: Sequence[models.CartItem | Mapping[str, Any]] | UnsetType | None = UNSET,
        metadata: Mapping[str, str] | UnsetType | None = UNSET,
        buyer: models.GuestBuyerInput | Mapping[str, Any] | UnsetType | None = UNSET,
        airline: models.Airline | Mapping[str, Any] | UnsetType | None = UNSET,
        amount: int | UnsetType | None = UNSET,
        currency: str | UnsetType | None = UNSET,
        payment_service_id: str | UnsetType | None = UNSET,
        expires_in: float | UnsetType = UNSET,
        country: str | UnsetType | None = UNSET,
        is_subsequent_payment: bool | UnsetType | None = UNSET,
        merchant_initiated: bool | UnsetType | None = UNSET,
        payment_source: models.TransactionPaymentSource | str | UnsetType | None = UNSET,
        intent: models.TransactionIntent | str | UnsetType | None = UNSET,
        merchant_account_id: str | UnsetType | None = UNSET,
        timeout_in_seconds: float | None = None,
        retries: RetryConfig | None = None,
        timeout_ms: float | None = None,
        http_headers: Mapping[str, str] | None = None,
        server_url: str | None = None,
        deadline: float | None = None,
    ) -> models.CheckoutSession:
        """Update a checkout session: fields left out are unchanged, ``None`` clears one.

        Nested values may be models or plain dicts (as the official SDK's
        examples pass them); all are checked before anything is sent.
        """
        fields = {
            "cart_items": cart_items,
            "metadata": metadata,
            "buyer": buyer,
            "airline": airline,
            "amount": amount,
            "currency": currency,
            "payment_service_id": payment_service_id,
            "expires_in": expires_in,
            "country": country,
            "is_subsequent_payment": is_subsequent_payment,
            "merchant_initiated": merchant_initiated,
            "payment_source": payment_source,
            "intent": intent,
        }
        path = _session_path(session_id)
        body = {name: value for name, value in fields.items() if value is not UNSET}
        return await self._transport.request(
            "PUT",
            path,
            encode_fields(body, models.CheckoutSessionUpdate),
            models.CheckoutSession,
            call_options(
                merchant_account_id,
                timeout_in_seconds,
                retries,
                timeout_ms,
                http_headers,
                server_url,
                deadline,
            ),
        )

    async def delete(
        self,
        *,
        session_id: str | uuid.UUID,
        merchant_account_id: str | UnsetType | None = UNSET,
        timeout_in_seconds: float | None = None,
        retries: RetryConfig | None = None,
        timeout_ms: float | None = None,
        http_headers: Mapping[str, str] | None = None,
        server_url: str | None = None,
        deadline: float | None = None,
    ) -> None:
        """Delete a checkout session and all of its (PCI) data."""
        await self._transport.request(
            "DELETE",
            _session_path(session_id),
            None,
            None,
            call_options(
                merchant_account_id,
                timeout_in_seconds,
                retries,
                timeout_ms,
                http_headers,
                server_url,
                deadline,
            ),
        )

    # SDK 2.4.27's async names: the same methods, not a second implementation.
    create_async = create
    get_async = get
    update_async = update
    delete_async = delete

    async def delete_many(
        self,
        session_ids: Iterable[str | uuid.UUID] | AsyncIterable[str | uuid.UUID],
        *,
        concurrency: int = 16,
        missing_ok: bool = True,
        report: BulkReport | None = None,
        keep_ids: bool = True,
        dedupe: bool = True,
        on_progress: Callable[[BulkProgress], object] | None = None,
        journal: str | os.PathLike[str] | None = None,
        deadline: float | None = None,
        stop_after: int | None = 20,
        merchant_account_id: str | UnsetType | None = UNSET,
        timeout_in_seconds: float | None = None,
        retries: RetryConfig | None = None,
    ) -> BulkReport:
        """Delete many checkout sessions; the report says where each went.

        A bulk run as :mod:`gr4vy_async.bulk` describes it (outcomes, rate
        limits, stops, journal); the options are
        :class:`~gr4vy_async.bulk.BulkOptions`, plus ``report`` (filled as ids
        finish) and, for each request, ``merchant_account_id`` and
        ``timeout_in_seconds``. ``retries`` defaults to the client's policy.
        """
        from .bulk import BulkOptions  # on first use, as in _many

        options = BulkOptions(
            concurrency=concurrency,
            missing_ok=missing_ok,
            keep_ids=keep_ids,
            dedupe=dedupe,
            on_progress=on_progress,
            journal=journal,
            deadline=deadline,
            stop_after=stop_after,
            retries=self._transport.retries if retries is None else retries,
            operation="delete_many",
        )
        return await self._many(
            "DELETE", None, session_ids, options, report, merchant_account_id, timeout_in_seconds
        )

    async def get_many(
        self,
        session_ids: Iterable[str | uuid.UUID] | AsyncIterable[str | uuid.UUID],
        *,
        concurrency: int = 16,
        missing_ok: bool = True,
        report: BulkReport | None = None,
        keep_ids: bool = True,
        dedupe: bool = True,
        on_progress: Callable[[BulkProgress], object] | None = None,
        journal: str | os.PathLike[str] | None = None,
        deadline: float | None = None,
        stop_after: int | None = 20,
        merchant_account_id: str | UnsetType | None = UNSET,
        timeout_in_seconds: float | None = None,
        retries: RetryConfig | None = None,
    ) -> BulkReport:
        """Get many checkout sessions; found ones are in ``report.results`` by id.

        Options and outcomes as for :meth:`delete_many`; a 404 is ``missing``
        (``failed`` with ``missing_ok=False``). With ``keep_ids=False`` no
        results are kept.
        """
        from .bulk import BulkOptions  # on first use, as in _many

        options = BulkOptions(
            concurrency=concurrency,
            missing_ok=missing_ok,
            keep_ids=keep_ids,
            dedupe=dedupe,
            on_progress=on_progress,
            journal=journal,
            deadline=deadline,
            stop_after=stop_after,
            retries=self._transport.retries if retries is None else retries,
            operation="get_many",
        )
        return await self._many(
            "GET",
            models.CheckoutSession,
            session_ids,
            options,
            report,
            merchant_account_id,
            timeout_in_seconds,
        )

    async def _many(
        self,
        method: str,
        response_type: type[models.CheckoutSession] | None,
        session_ids: Iterable[str | uuid.UUID] | AsyncIterable[str | uuid.UUID],
        options: BulkOptions,
        report: BulkReport | None,
        merchant_account_id: str | UnsetType | None,
        timeout_in_seconds: float | None,
    ) -> BulkReport:
        """A ``method`` request (GET or DELETE) for each of many ids, via :func:`run_bulk`.

        The per-request options are built (and checked) once for the run; the
        runner's policy is the run's unless it passes another. With a tracer
        provider set, the run is one span holding the report's counts, its
        calls' spans under it.
        """
        # Imported here: bulk's import (~7 ms, `python -X importtime`) is paid
        # by bulk jobs only.
        from .bulk import BulkReport, run_bulk

        prepared = call_options(merchant_account_id, timeout_in_seconds, options.retries)
        request = self._transport.request

        def one(session_id: str, policy: RetryConfig) -> Coroutine[Any, Any, Any]:
            per_id = (
                prepared
                if policy is prepared.retries
                else msgspec.structs.replace(prepared, retries=policy)
            )
            return request(method, _session_path(session_id), None, response_type, per_id)

        report = report if report is not None else BulkReport(keep_ids=options.keep_ids)
        run = run_bulk(session_ids, one, options, report=report)
        tracing = self._transport.tracing
        return await (run if tracing is None else tracing.bulk(method, run, report))
