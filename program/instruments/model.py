"""The instrument model: items, subscales, metrics, bands, risk rules, score results, errors."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RULE_OPERATORS = {
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
    "<=": operator.le,
    "<": operator.lt,
}
TOTAL = "total"
_FLOAT_TOLERANCE = 1e-9


class InstrumentError(ValueError):
    """An instrument definition is broken; the message names the file and the field."""


class ScoringError(ValueError):
    """An answer set cannot be scored (unknown item or out-of-range answer)."""


@dataclass(frozen=True)
class Option:
    """One response option of an item with an option map (e.g. BDI-II 16: code 2 = '1b')."""

    code: int
    label: str
    score: int
    text: str = ""


@dataclass(frozen=True)
class Item:
    number: int
    text: str
    min: int
    max: int
    anchors: Mapping[int, str] = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    reverse: bool = False
    filler: bool = False

    @property
    def codes(self) -> tuple[int, ...]:
        """The response codes a person may give for this item."""
        if self.options:
            return tuple(o.code for o in self.options)
        return tuple(range(self.min, self.max + 1))

    def raw_score(self, code: int) -> int:
        """The item's score for a response code, before any reversal."""
        for option in self.options:
            if option.code == code:
                return option.score
        return code

    def keyed_score(self, code: int) -> int:
        """The item's score for a response code, reversed if the item is reverse-keyed."""
        raw = self.raw_score(code)
        return self.min + self.max - raw if self.reverse else raw


@dataclass(frozen=True)
class Subscale:
    key: str
    name: str
    #: None when the instrument declares the subscale but a study must supply its items.
    items: tuple[int, ...] | None
    #: False: negative subscales are reported on their own direction (SCS self-judgment).
    keyed: bool = True
    #: False: computed on request but not exported (SCS-SF subscales are not recommended).
    report: bool = True
    max_missing: int = 0
    unverified: bool = False


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    total: str
    subscales: str
    multiplier: float = 1.0


@dataclass(frozen=True)
class Band:
    lower: float
    label: str


@dataclass(frozen=True)
class BandSet:
    """Severity bands of one scale under one metric; a score falls in the last band whose
    lower bound it reaches."""

    metric: str
    scale: str
    source: str
    levels: tuple[Band, ...]

    def classify(self, value: float) -> str:
        label = self.levels[0].label
        for band in self.levels:
            if value >= band.lower - _FLOAT_TOLERANCE:
                label = band.label
        return label


@dataclass(frozen=True)
class RiskRule:
    """A rule on one item's score (before reversal) that raises a safety alert."""

    id: str
    item: int
    op: str
    value: int
    message: str = ""

    def triggered_by(self, answers: Mapping[int, int | None], instrument: Instrument) -> bool:
        code = answers.get(self.item)
        if code is None:
            return False
        raw = instrument.item(self.item).raw_score(code)
        return RULE_OPERATORS[self.op](raw, self.value)


@dataclass(frozen=True)
class Licence:
    holder: str
    terms: str
    #: Whether the wording may live in this repository (even then we ship placeholders until
    #: the exact published wording has been checked against the source).
    ship_wording: bool


@dataclass(frozen=True)
class Instrument:
    key: str
    name: str
    citation: str
    licence: Licence
    rater: str
    items: tuple[Item, ...]
    subscales: tuple[Subscale, ...]
    total_items: tuple[int, ...]
    metrics: Mapping[str, Metric]
    default_metric: str
    bands: tuple[BandSet, ...]
    max_missing_total: int
    risk_rules: tuple[RiskRule, ...]
    unverified: tuple[str, ...]
    period: str = ""
    source: str = ""
    #: language -> what a reader of that language sees instead of the English (see
    #: :func:`program.instruments.wording.localized`): name, period, item placeholder, anchor
    #: labels, subscale names, bands.
    translations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)
    #: The parsed file, kept so a study's overrides can be merged over it.
    definition: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def item(self, number: int) -> Item:
        for item in self.items:
            if item.number == number:
                return item
        raise KeyError(number)

    def subscale(self, key: str) -> Subscale:
        for subscale in self.subscales:
            if subscale.key == key:
                return subscale
        raise KeyError(key)

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if not item.filler)

    def metric(self, key: str | None = None) -> Metric:
        key = key or self.default_metric
        if key not in self.metrics:
            raise ScoringError(f"{self.key}: unknown metric {key!r}; known: {sorted(self.metrics)}")
        return self.metrics[key]

    def configured_subscales(self) -> tuple[Subscale, ...]:
        return tuple(s for s in self.subscales if s.items is not None)

    def valid_range(self, metric: str | None = None, scale: str = TOTAL) -> tuple[float, float]:
        """The lowest and highest score a scale can take under a metric."""
        m = self.metric(metric)
        if scale == TOTAL:
            if m.total == "none":
                raise ScoringError(f"{self.key}: metric {m.key!r} has no total")
            if m.total == "mean_of_subscale_means":
                means = [self._items_range(s.items, "mean") for s in self.configured_subscales()]
                lo = sum(r[0] for r in means) / len(means)
                hi = sum(r[1] for r in means) / len(means)
            else:
                lo, hi = self._items_range(self.total_items, m.total)
        else:
            lo, hi = self._items_range(self.subscale(scale).items or (), m.subscales)
        return lo * m.multiplier, hi * m.multiplier

    def band_set(self, metric: str, scale: str) -> BandSet | None:
        for band_set in self.bands:
            if band_set.metric == metric and band_set.scale == scale:
                return band_set
        return None

    def _items_range(self, numbers: Iterable[int], method: str) -> tuple[float, float]:
        items = [self.item(n) for n in numbers]
        lo, hi = sum(i.min for i in items), sum(i.max for i in items)
        if method == "mean":
            return lo / len(items), hi / len(items)
        return float(lo), float(hi)


@dataclass(frozen=True)
class ScoreResult:
    instrument: str
    metric: str
    #: None when too many items are missing (or the metric has no total).
    total: float | None
    subscales: Mapping[str, float | None]
    band: str | None
    subscale_bands: Mapping[str, str | None]
    #: True when any reported score was estimated from fewer than all its items.
    prorated: bool
    #: Scored items (fillers excluded) with no answer.
    missing: int
    warnings: tuple[str, ...] = ()
    measures: Mapping[str, float | None] = field(default_factory=dict)
