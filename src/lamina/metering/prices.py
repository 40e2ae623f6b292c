"""The price table: what a request, a GB-second and provisioned concurrency cost (pure).

The defaults are AWS Lambda's us-east-1 list prices (https://aws.amazon.com/lambda/pricing/, as
published in 2025: see docs/usage.md). An installation overrides any of them with a JSON file
(``LAMINA_PRICES=path.json``) read once at start; ``load_prices`` refuses a file it cannot use with
a message that names the field. Every price is a ``Decimal`` (read from the file's text, never
through a float), so costs are exact until they are rounded to the cent.

The file's shape (every member optional; a missing one keeps the default)::

    {"currency": "USD",
     "requestsPerMillion": "0.20",
     "duration": {"x86_64": [{"upToGbSeconds": "6000000000", "perGbSecond": "0.0000166667"},
                             {"upToGbSeconds": "15000000000", "perGbSecond": "0.0000150000"},
                             {"perGbSecond": "0.0000133334"}],
                  "arm64": [...]},
     "ephemeralStoragePerGbSecond": "0.0000000309",
     "provisionedConcurrencyPerGbSecond": {"x86_64": "0.0000041667", "arm64": "0.0000033334"},
     "provisionedDurationPerGbSecond": {"x86_64": "0.0000097222", "arm64": "0.0000077778"},
     "freeTier": {"requests": 1000000, "gbSeconds": "400000"}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Mapping

ARCHITECTURES = ("x86_64", "arm64")
MAX_PRICE_FILE_BYTES = 1 << 20


class PriceTableError(ValueError):
    """A price file Lamina cannot use; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class Tier:
    """GB-seconds a month up to ``up_to`` (``None``: no limit) cost ``per_gb_second``."""

    up_to: Decimal | None
    per_gb_second: Decimal


@dataclass(frozen=True, slots=True)
class FreeTier:
    requests: int = 1_000_000
    gb_seconds: Decimal = Decimal(400_000)


@dataclass(frozen=True, slots=True)
class Prices:
    currency: str = "USD"
    requests_per_million: Decimal = Decimal("0.20")
    duration: Mapping[str, tuple[Tier, ...]] = field(default_factory=lambda: {
        "x86_64": (Tier(Decimal(6_000_000_000), Decimal("0.0000166667")),
                   Tier(Decimal(15_000_000_000), Decimal("0.0000150000")),
                   Tier(None, Decimal("0.0000133334"))),
        "arm64": (Tier(Decimal(7_500_000_000), Decimal("0.0000133334")),
                  Tier(Decimal(18_750_000_000), Decimal("0.0000120001")),
                  Tier(None, Decimal("0.0000106667"))),
    })  # fmt: skip
    ephemeral_storage_per_gb_second: Decimal = Decimal("0.0000000309")
    provisioned_concurrency_per_gb_second: Mapping[str, Decimal] = field(default_factory=lambda: {
        "x86_64": Decimal("0.0000041667"), "arm64": Decimal("0.0000033334"),
    })  # fmt: skip
    provisioned_duration_per_gb_second: Mapping[str, Decimal] = field(default_factory=lambda: {
        "x86_64": Decimal("0.0000097222"), "arm64": Decimal("0.0000077778"),
    })  # fmt: skip
    free_tier: FreeTier = FreeTier()

    def as_json(self) -> dict[str, object]:
        """The table in the file's shape (what ``lamina usage --json`` shows as ``prices``)."""
        return {
            "currency": self.currency,
            "requestsPerMillion": str(self.requests_per_million),
            "duration": {
                arch: [{**({"upToGbSeconds": str(t.up_to)} if t.up_to is not None else {}),
                        "perGbSecond": str(t.per_gb_second)} for t in tiers]
                for arch, tiers in self.duration.items()
            },
            "ephemeralStoragePerGbSecond": str(self.ephemeral_storage_per_gb_second),
            "provisionedConcurrencyPerGbSecond": {a: str(p) for a, p in self.provisioned_concurrency_per_gb_second.items()},
            "provisionedDurationPerGbSecond": {a: str(p) for a, p in self.provisioned_duration_per_gb_second.items()},
            "freeTier": {"requests": self.free_tier.requests, "gbSeconds": str(self.free_tier.gb_seconds)},
        }  # fmt: skip


# -- reading a price file ------------------------------------------------------------------------


def load_prices(path: Path) -> Prices:
    """The table in ``path`` over the defaults; raises ``PriceTableError`` saying what is wrong."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_PRICE_FILE_BYTES + 1)
    except OSError as e:
        raise PriceTableError(f"cannot read the price file {path}: {e.strerror or e}") from None
    if len(raw) > MAX_PRICE_FILE_BYTES:
        raise PriceTableError(f"the price file {path} is larger than {MAX_PRICE_FILE_BYTES} bytes")
    try:
        document = json.loads(raw, parse_float=str, parse_int=str)
    except (ValueError, RecursionError) as e:
        raise PriceTableError(f"the price file {path} is not JSON: {e}") from None
    return parse_prices(document)


_KEYS = {"currency", "requestsPerMillion", "duration", "ephemeralStoragePerGbSecond",
         "provisionedConcurrencyPerGbSecond", "provisionedDurationPerGbSecond", "freeTier"}  # fmt: skip


def parse_prices(document: object) -> Prices:
    """A price table from a parsed document (numbers as strings or JSON numbers read as text)."""
    body = _object(document, "the price file")
    unknown = sorted(set(body) - _KEYS)
    if unknown:
        raise PriceTableError(f"unknown field {unknown[0]!r} in the price file (known: {', '.join(sorted(_KEYS))})")
    prices = Prices()
    if "currency" in body:
        currency = body["currency"]
        if not isinstance(currency, str) or not currency.isalpha() or len(currency) != 3:
            raise PriceTableError("currency must be a three-letter code such as \"USD\"")
        prices = replace(prices, currency=currency.upper())
    if "requestsPerMillion" in body:
        prices = replace(prices, requests_per_million=_price(body["requestsPerMillion"], "requestsPerMillion"))
    if "duration" in body:
        given = _by_architecture(body["duration"], "duration")
        prices = replace(prices, duration={**prices.duration,
                                           **{a: _tiers(v, f"duration.{a}") for a, v in given.items()}})  # fmt: skip
    if "ephemeralStoragePerGbSecond" in body:
        prices = replace(prices, ephemeral_storage_per_gb_second=_price(body["ephemeralStoragePerGbSecond"],
                                                                        "ephemeralStoragePerGbSecond"))  # fmt: skip
    if "provisionedConcurrencyPerGbSecond" in body:
        prices = replace(prices, provisioned_concurrency_per_gb_second=_per_architecture(
            body, "provisionedConcurrencyPerGbSecond", prices.provisioned_concurrency_per_gb_second))  # fmt: skip
    if "provisionedDurationPerGbSecond" in body:
        prices = replace(prices, provisioned_duration_per_gb_second=_per_architecture(
            body, "provisionedDurationPerGbSecond", prices.provisioned_duration_per_gb_second))  # fmt: skip
    if "freeTier" in body:
        free = _object(body["freeTier"], "freeTier")
        extra = sorted(set(free) - {"requests", "gbSeconds"})
        if extra:
            raise PriceTableError(f"unknown field {extra[0]!r} in freeTier (known: gbSeconds, requests)")
        requests = _price(free.get("requests", prices.free_tier.requests), "freeTier.requests")
        if requests != requests.to_integral_value():
            raise PriceTableError("freeTier.requests must be a whole number")
        gb = _price(free.get("gbSeconds", prices.free_tier.gb_seconds), "freeTier.gbSeconds")
        prices = replace(prices, free_tier=FreeTier(int(requests), gb))
    return prices


def _object(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise PriceTableError(f"{where} must be a JSON object")
    return value


def _by_architecture(value: object, where: str) -> dict[str, object]:
    given = _object(value, where)
    for arch in given:
        if arch not in ARCHITECTURES:
            raise PriceTableError(f"{where}: unknown architecture {arch!r} (known: {', '.join(ARCHITECTURES)})")
    return given


def _per_architecture(body: Mapping[str, object], key: str, defaults: Mapping[str, Decimal]) -> dict[str, Decimal]:
    given = _by_architecture(body[key], key)
    return {**defaults, **{arch: _price(value, f"{key}.{arch}") for arch, value in given.items()}}


def _price(value: object, where: str) -> Decimal:
    """A non-negative finite amount, from a string or a JSON number (never via a float)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise PriceTableError(f"{where} must be a number or a string holding one, not {type(value).__name__}")
    text = str(value).strip()
    if len(text) > 40:
        raise PriceTableError(f"{where} is too long to be a price")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise PriceTableError(f"{where} is not a number: {text!r}") from None
    if not amount.is_finite() or amount < 0:
        raise PriceTableError(f"{where} must be a finite number of 0 or more, not {text!r}")
    exponent = amount.as_tuple().exponent
    if amount and (amount.adjusted() > 15 or (isinstance(exponent, int) and exponent < -20)):
        raise PriceTableError(f"{where} is out of range (below 10^16, at most 20 decimals): {text!r}")
    return amount


def _tiers(value: object, where: str) -> tuple[Tier, ...]:
    if not isinstance(value, list) or not value or len(value) > 16:
        raise PriceTableError(f"{where} must be a list of 1 to 16 tiers")
    tiers: list[Tier] = []
    for i, item in enumerate(value):
        entry = _object(item, f"{where}[{i}]")
        extra = sorted(set(entry) - {"upToGbSeconds", "perGbSecond"})
        if extra:
            raise PriceTableError(f"unknown field {extra[0]!r} in {where}[{i}] (known: perGbSecond, upToGbSeconds)")
        if "perGbSecond" not in entry:
            raise PriceTableError(f"{where}[{i}] has no perGbSecond")
        last = i == len(value) - 1
        if last != ("upToGbSeconds" not in entry):
            raise PriceTableError(f"{where}: every tier but the last has upToGbSeconds, and the last has none")
        up_to = None if last else _price(entry["upToGbSeconds"], f"{where}[{i}].upToGbSeconds")
        if up_to is not None and tiers and tiers[-1].up_to is not None and up_to <= tiers[-1].up_to:
            raise PriceTableError(f"{where}: upToGbSeconds must increase from one tier to the next")
        tiers.append(Tier(up_to, _price(entry["perGbSecond"], f"{where}[{i}].perGbSecond")))
    return tuple(tiers)
