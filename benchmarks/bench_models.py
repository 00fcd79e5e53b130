"""Models benchmark: gr4vy_async's msgspec Structs beside the official SDK's pydantic models.

Times, in microseconds per call, encoding the seed's create payload and decoding a
full CheckoutSession response, each the way ``create_async`` does it in both
libraries, plus each library's plainest path. Rounds alternate the two sides;
medians are printed as a Markdown table. Run from the repository root::

    python3 -m venv .venv-bench && .venv-bench/bin/pip install -q -e '.[bench]' \\
        && .venv-bench/bin/python benchmarks/bench_models.py

``--rounds`` and ``--target`` (seconds per round) change the defaults (7 and 0.2).
"""

from __future__ import annotations

import argparse
from typing import Any

import httpx
import msgspec
from _clients import official_create_body, session_response
from _common import Case, print_header, print_table, run_cases, sync_timer
from gr4vy import models as sdk
from gr4vy.utils import serialize_request_body
from gr4vy.utils.unmarshal_json_response import unmarshal_json_response

from gr4vy_async import _codec, models
from gr4vy_async.testing.payloads import seed_create_body

# What ``CheckoutSessions.create_async`` passes to ``serialize_request_body`` in gr4vy 2.4.27.
SDK_BODY_TYPE: Any = sdk.CheckoutSessionCreate | None


def official_encode(body: sdk.CheckoutSessionCreate) -> str:
    """The request body text, exactly as ``create_async`` produces it."""
    serialized = serialize_request_body(body, False, True, "json", SDK_BODY_TYPE)
    assert serialized is not None
    assert isinstance(serialized.content, str)
    return serialized.content


def official_decode(raw: bytes, http_res: httpx.Response) -> sdk.CheckoutSession:
    """The response model, as ``create_async`` makes it from ``http_res.text``.

    The text is decoded from the bytes on every call (``http_res.text`` is
    cached by httpx, so it is passed in instead); ``http_res`` is only read
    if validation fails.
    """
    return unmarshal_json_response(sdk.CheckoutSession, http_res, raw.decode())


def check_same_work(raw: bytes) -> None:
    """Fail loudly unless both libraries encode the same payload and decode the same data.

    The bytes may differ a little (the SDK writes ``expires_in`` as ``3600.0``);
    read back leniently, both are the seed payload.
    """
    seed = seed_create_body()
    for encoded in (
        _codec.encode_request(seed, models.CheckoutSessionUpdate),
        official_encode(official_create_body()),
    ):
        sent = msgspec.json.decode(encoded, type=models.CheckoutSessionUpdate, strict=False)
        assert sent == seed, "an encoder lost part of the seed payload"
    ours = _codec.decoder_for(models.CheckoutSession).decode(raw)
    official = official_decode(raw, httpx.Response(201, content=raw))
    official_json = official.model_dump_json(by_alias=True)
    seen = msgspec.json.decode(official_json, type=models.CheckoutSession, strict=False)
    assert seen == ours, "the two decoders disagree on the CheckoutSession response"


def build_cases(raw: bytes) -> list[Case]:
    """The operations compared, each as (ours, official) zero-argument callables."""
    body = seed_create_body()
    official_body = official_create_body()
    # The official side builds its model from the seed's JSON document (pydantic's way
    # to build nested models), as official_create_body() does, minus our own conversion.
    document = msgspec.to_builtins(body)
    update_type = models.CheckoutSessionUpdate
    decoder = _codec.decoder_for(models.CheckoutSession)
    encode_request = _codec.encode_request
    http_res = httpx.Response(201, content=raw)
    rows = [
        (
            "encode built model (create_async path: validate + encode)",
            lambda: encode_request(body, update_type),
            lambda: official_encode(official_body),
        ),
        (
            "encode built model (plain: msgspec.json.encode / model_dump_json)",
            lambda: msgspec.json.encode(body),
            lambda: official_body.model_dump_json(by_alias=True, exclude_none=True),
        ),
        (
            "build model + encode (create_async path)",
            lambda: encode_request(seed_create_body(), update_type),
            lambda: official_encode(sdk.CheckoutSessionCreate.model_validate(document)),
        ),
        (
            "decode CheckoutSession (create_async path)",
            lambda: decoder.decode(raw),
            lambda: official_decode(raw, http_res),
        ),
        (
            "decode CheckoutSession (plain: Decoder.decode / model_validate_json)",
            lambda: decoder.decode(raw),
            lambda: sdk.CheckoutSession.model_validate_json(raw),
        ),
    ]
    return [
        Case(name, {"ours": sync_timer(ours), "official": sync_timer(official)})
        for name, ours, official in rows
    ]


def main(argv: list[str] | None = None) -> None:
    """Run every case in alternating rounds and print the environment and the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (default 7)")
    parser.add_argument("--target", type=float, default=0.2, help="seconds per round per side")
    args = parser.parse_args(argv)

    raw = session_response()
    check_same_work(raw)
    cases = build_cases(raw)
    run_cases(cases, rounds=args.rounds, target_s=args.target)

    ours_body = _codec.encode_request(seed_create_body(), models.CheckoutSessionUpdate)
    official_body = official_encode(official_create_body()).encode()
    print_header(
        ["gr4vy-async", "msgspec", "pydantic", "pydantic-core", "gr4vy"],
        f"{args.rounds} alternating rounds of ~{args.target} s per side; median µs per call; "
        "ratio = median of per-round official/ours. Seed body: "
        f"{len(ours_body)} B ours, {len(official_body)} B official; response {len(raw)} B.\n",
    )
    print_table(
        ["operation", "gr4vy_async µs", "official µs", "ratio (official/ours)"],
        (
            [
                case.name,
                f"{case.median('ours'):,.2f}",
                f"{case.median('official'):,.1f}",
                f"{case.ratio('official', 'ours'):,.0f}x",
            ]
            for case in cases
        ),
    )


if __name__ == "__main__":
    main()
