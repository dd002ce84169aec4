"""Traffic policies: which model versions a deployment serves and how requests are split.

A policy is a set of variants. Live variants share the traffic (their shares add
up to 100): ``primary`` alone (single), ``primary`` + ``canary`` (canary x%), or
``a`` + ``b`` (A-B). A ``shadow`` variant takes no share: it sees a copy of every
request after the live variant has answered, and its output is only logged.

Routing is sticky when the request carries a key: the key is hashed (CRC-32,
the same in every process and every worker) to a point in [0, 100) and the
variant whose cumulative share covers that point answers. Without a key the
point is random, so shares hold on average.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ladder.errors import InvalidModelURI, InvalidTrafficPolicy
from ladder.registry import parse_model_uri

PRIMARY = "primary"
CANARY = "canary"
SHADOW = "shadow"
VARIANT_A = "a"
VARIANT_B = "b"
VARIANT_NAMES = (PRIMARY, CANARY, SHADOW, VARIANT_A, VARIANT_B)
_BUCKETS = 10_000  # sticky routing resolution: 0.01 %


@dataclass(frozen=True)
class Variant:
    """One model version (or moving alias) in a policy and the share of live traffic it gets."""

    name: str
    model: str  # a model URI as given: name/3, name@alias, name@latest
    share: float  # percent of live traffic; 0 for a shadow
    shadow: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "share": self.share, "shadow": self.shadow}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Variant:
        return cls(
            name=str(data["name"]),
            model=str(data["model"]),
            share=float(data["share"]),
            shadow=bool(data.get("shadow", False)),
        )


@dataclass(frozen=True)
class TrafficPolicy:
    """The variants of a deployment; build one with ``policy_from_options``."""

    variants: tuple[Variant, ...]

    def __post_init__(self) -> None:
        check_policy(self)

    @property
    def kind(self) -> str:
        """``single``, ``canary`` or ``ab``, with ``+shadow`` when a shadow is attached."""
        names = {v.name for v in self.variants}
        base = "canary" if CANARY in names else "ab" if VARIANT_B in names else "single"
        return f"{base}+shadow" if SHADOW in names else base

    @property
    def live(self) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if not v.shadow)

    @property
    def shadows(self) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if v.shadow)

    def variant(self, name: str) -> Variant | None:
        for variant in self.variants:
            if variant.name == name:
                return variant
        return None

    def describe(self) -> str:
        """One line, e.g. ``primary loans@champion 90% · canary loans/5 10% · shadow loans/6``."""
        parts = []
        for v in self.variants:
            parts.append(f"{v.name} {v.model}" + ("" if v.shadow else f" {v.share:g}%"))
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "variants": [v.to_dict() for v in self.variants]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrafficPolicy:
        return cls(tuple(Variant.from_dict(v) for v in data["variants"]))


def check_policy(policy: TrafficPolicy) -> None:
    """Raise ``InvalidTrafficPolicy`` unless the policy is one Ladder can route."""
    names = [v.name for v in policy.variants]
    if len(set(names)) != len(names):
        raise InvalidTrafficPolicy(f"traffic policy: variant names repeat: {names}")
    for variant in policy.variants:
        if variant.name not in VARIANT_NAMES:
            raise InvalidTrafficPolicy(
                f"variant {variant.name!r}: expected one of {', '.join(VARIANT_NAMES)}"
            )
        try:
            parse_model_uri(variant.model)
        except InvalidModelURI as exc:
            raise InvalidTrafficPolicy(f"variant {variant.name!r}: {exc}") from None
        if variant.shadow != (variant.name == SHADOW):
            raise InvalidTrafficPolicy(f"variant {variant.name!r}: only 'shadow' is a shadow")
        if variant.shadow and variant.share != 0:
            raise InvalidTrafficPolicy(
                f"shadow variant: expected share 0 (it answers no one), given {variant.share:g}"
            )
        if not variant.shadow and not 0 <= variant.share <= 100:
            raise InvalidTrafficPolicy(
                f"variant {variant.name!r}: share must be within 0-100 %, given {variant.share:g}"
            )
    live = {v.name for v in policy.live}
    allowed = ({PRIMARY}, {PRIMARY, CANARY}, {VARIANT_A, VARIANT_B})
    if live not in allowed:
        raise InvalidTrafficPolicy(
            f"traffic policy: live variants {sorted(live)}: expected primary, primary + canary, "
            "or a + b (a canary and an A-B split cannot be combined)"
        )
    total = sum(v.share for v in policy.live)
    if abs(total - 100) > 1e-6:
        raise InvalidTrafficPolicy(
            f"traffic policy: live shares must add up to 100 %, given {total:g} %"
        )


def parse_share_spec(spec: str, option: str) -> tuple[str, float]:
    """Parse ``MODEL:PERCENT`` (``loans/5:10``) into the model URI and the percentage."""
    model, sep, percent = spec.rpartition(":")
    if not sep or not model:
        raise InvalidTrafficPolicy(
            f"{option} {spec!r}: expected MODEL:PERCENT, e.g. loans/5:10 for 10 % of the traffic"
        )
    try:
        share = float(percent.removesuffix("%"))
    except ValueError:
        raise InvalidTrafficPolicy(
            f"{option} {spec!r}: percentage must be a number, given {percent!r}"
        ) from None
    if not 0 < share < 100:
        raise InvalidTrafficPolicy(
            f"{option} {spec!r}: percentage must be between 0 and 100 (exclusive), given {share:g}"
        )
    return model, share


def policy_from_options(
    model: str,
    *,
    canary: str | None = None,
    shadow: str | None = None,
    ab: str | None = None,
) -> TrafficPolicy:
    """The policy of ``--model M [--canary M:P] [--shadow M] [--ab M:P]``.

    ``--canary loans/5:10`` sends 10 % to ``loans/5`` and the rest to the primary;
    ``--ab loans/5:50`` names the main model ``a`` and ``loans/5`` ``b`` with 50 %.
    """
    if canary and ab:
        raise InvalidTrafficPolicy(
            "traffic policy: --canary and --ab cannot be combined (choose one live split)"
        )
    variants: list[Variant] = []
    if canary:
        candidate, share = parse_share_spec(canary, "--canary")
        variants += [Variant(PRIMARY, model, 100 - share), Variant(CANARY, candidate, share)]
    elif ab:
        candidate, share = parse_share_spec(ab, "--ab")
        variants += [Variant(VARIANT_A, model, 100 - share), Variant(VARIANT_B, candidate, share)]
    else:
        variants.append(Variant(PRIMARY, model, 100.0))
    if shadow:
        variants.append(Variant(SHADOW, shadow, 0.0, shadow=True))
    return TrafficPolicy(tuple(variants))


def route_point(key: str | None) -> float:
    """The point in [0, 100) a request lands on: fixed for a key, random without one."""
    if key is None:
        return random.random() * 100
    return (zlib.crc32(key.encode("utf-8")) % _BUCKETS) * 100 / _BUCKETS


def choose_variant(live: Sequence[Variant], key: str | None) -> Variant:
    """The live variant that answers a request with routing ``key`` (None: random)."""
    point = route_point(key)
    cumulative = 0.0
    for variant in live:
        cumulative += variant.share
        if point < cumulative:
            return variant
    # Floating point leaves a sliver at the top: the last variant with any share takes it.
    return next((v for v in reversed(live) if v.share > 0), live[-1])
