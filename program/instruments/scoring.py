"""Questionnaire scoring: the instrument library loader and a pure scorer.

Each instrument is a YAML file in this package (the format is described in the
README there). ``load_library`` validates every file and returns :class:`Instrument` objects;
``score`` turns one person's answers into a :class:`ScoreResult`; ``risk_flags`` checks the
item rules that raise safety alerts. Nothing here touches Flask or the database.

Answers are ``{item number: response code or None}``. The response code is the value the
person picked: for most items it is the item score itself; items with an option map (BDI-II
16 and 18) store the option's code, which the map turns into a score.
"""

from __future__ import annotations

import copy
import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

LIBRARY_ROOT = Path(__file__).parent

RATERS = ("self", "clinician")
TOTAL_METHODS = ("sum", "mean", "mean_of_subscale_means", "none")
SUBSCALE_METHODS = ("sum", "mean")
RULE_OPERATORS = {
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
    "<=": operator.le,
    "<": operator.lt,
}
TOTAL = "total"
FIELDS = frozenset(
    {
        "key",
        "name",
        "citation",
        "licence",
        "rater",
        "period",
        "response",
        "items",
        "reverse",
        "fillers",
        "subscales",
        "total_items",
        "metrics",
        "default_metric",
        "bands",
        "missing",
        "risk_rules",
        "unverified",
        "notes",
        "translations",
    }
)
#: What an instrument's ``translations.<language>`` may give (all optional; English otherwise).
TRANSLATED_FIELDS = frozenset({"name", "period", "placeholder", "anchors", "subscales", "bands"})
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
    #: :func:`localized`): name, period, item placeholder, anchor labels, subscale names, bands.
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


# --------------------------------------------------------------------------- loading


def load_library(root: str | Path | None = None) -> dict[str, Instrument]:
    """Load and validate every ``*.yaml`` instrument under ``root`` (default: the shipped one).

    Raises :class:`InstrumentError` naming the file and the field at the first broken file.
    """
    root = Path(root) if root is not None else LIBRARY_ROOT
    library: dict[str, Instrument] = {}
    for path in sorted(root.glob("*.yaml")):
        instrument = load_instrument(path)
        if instrument.key in library:
            raise InstrumentError(
                f"{path.name}: key: {instrument.key!r} is also defined in "
                f"{library[instrument.key].source}"
            )
        library[instrument.key] = instrument
    return library


def load_instrument(path: str | Path) -> Instrument:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InstrumentError(f"{path.name}: (file): not valid YAML: {exc}") from exc
    return build_instrument(raw, source=path.name)


def with_overrides(instrument: Instrument, overrides: Mapping[str, Any]) -> Instrument:
    """A copy of ``instrument`` with a study's overrides merged over its definition.

    Mappings merge key by key, anything else (lists, numbers, strings) replaces, and ``None``
    removes a key. Examples: ``{"default_metric": "sum"}`` (report SCS-SF as a sum);
    ``{"subscales": {"miserable": {"items": [1, 4, 7]}}}`` (a language version's factor
    membership). The result is validated like a file.
    """
    merged = _deep_merge(copy.deepcopy(dict(instrument.definition)), overrides)
    return build_instrument(merged, source=f"{instrument.source} + overrides")


def localized(instrument: Instrument, locale: object | None) -> Instrument:
    """The instrument as a reader of ``locale`` sees it (a copy; scoring is unchanged).

    Its ``translations`` give the name, the period, the neutral item placeholder (item wording
    a study loaded is kept as loaded), anchor labels and band labels (keyed by the English
    label) and subscale names (keyed by subscale key); whatever a language lacks stays English.
    """
    language = str(locale or "en").replace("-", "_").split("_")[0]
    t = instrument.translations.get(language)
    if not t:
        return instrument
    key = instrument.key
    english = str((instrument.definition.get("items") or {}).get("placeholder") or "")
    anchors = t.get("anchors") or {}

    def item(it: Item) -> Item:
        text = it.text
        if t.get("placeholder") and text == english.format(number=it.number, key=key):
            text = str(t["placeholder"]).format(number=it.number, key=key)
        return replace(it, text=text,
                       anchors={v: anchors.get(label, label) for v, label in it.anchors.items()})

    subscales = t.get("subscales") or {}
    bands = t.get("bands") or {}
    return replace(
        instrument,
        name=t.get("name", instrument.name),
        period=t.get("period", instrument.period),
        items=tuple(item(it) for it in instrument.items),
        subscales=tuple(replace(s, name=subscales.get(s.key, s.name))
                        for s in instrument.subscales),
        bands=tuple(replace(b, levels=tuple(replace(lv, label=bands.get(lv.label, lv.label))
                                            for lv in b.levels))
                    for b in instrument.bands),
    )


def with_wording(instrument: Instrument, wording: str | Path | Mapping[str, Any]) -> Instrument:
    """A copy of ``instrument`` carrying wording loaded from a file kept outside the repository.

    The file (YAML) may give ``items: {number: text}``, ``options: {item: {code: text}}``,
    ``anchors: {value: label}`` and ``item_anchors: {item: {value: label}}``; see the
    instruments README.
    """
    source = "wording"
    if not isinstance(wording, Mapping):
        source = Path(wording).name
        wording = yaml.safe_load(Path(wording).read_text(encoding="utf-8")) or {}
    declared = wording.get("instrument")
    if declared is not None and declared != instrument.key:
        raise InstrumentError(f"{source}: instrument: is {declared!r}, not {instrument.key!r}")
    numbers = {item.number for item in instrument.items}

    def _check_item(n: Any, where: str) -> int:
        if not isinstance(n, int) or n not in numbers:
            raise InstrumentError(f"{source}: {where}: {instrument.key} has no item {n!r}")
        return n

    texts = {_check_item(n, "items"): str(t) for n, t in (wording.get("items") or {}).items()}
    options = {
        _check_item(n, "options"): dict(m) for n, m in (wording.get("options") or {}).items()
    }
    item_anchors = {
        _check_item(n, "item_anchors"): dict(m)
        for n, m in (wording.get("item_anchors") or {}).items()
    }
    common_anchors = dict(wording.get("anchors") or {})
    items = []
    for item in instrument.items:
        new_options = item.options
        if item.number in options:
            codes = {o.code for o in item.options}
            unknown = set(options[item.number]) - codes
            if unknown:
                raise InstrumentError(
                    f"{source}: options.{item.number}: no option code(s) {sorted(unknown)}"
                )
            new_options = tuple(
                replace(o, text=str(options[item.number].get(o.code, o.text))) for o in item.options
            )
        anchors = dict(item.anchors)
        anchors.update(common_anchors)
        anchors.update(item_anchors.get(item.number, {}))
        items.append(
            replace(
                item,
                text=texts.get(item.number, item.text),
                options=new_options,
                anchors=anchors,
            )
        )
    # Rebuild from the definition so that later overrides keep the wording.
    definition = copy.deepcopy(dict(instrument.definition))
    spec = definition["items"]
    spec["text"] = {item.number: item.text for item in items}
    per_item = {
        n: dict(copy.deepcopy(own or {})) for n, own in (spec.get("per_item") or {}).items()
    }
    for item in items:
        own = per_item.setdefault(item.number, {})
        own["anchors"] = dict(item.anchors)
        if item.options:
            own["options"] = [
                {"code": o.code, "label": o.label, "score": o.score, "text": o.text}
                for o in item.options
            ]
    spec["per_item"] = per_item
    return build_instrument(definition, source=f"{instrument.source} + {source}")


def build_instrument(raw: Any, source: str = "<dict>") -> Instrument:
    """Validate a parsed instrument definition and build the :class:`Instrument`."""
    return _Builder(raw, source).build()


def _deep_merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in overrides.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            base[key] = _deep_merge(dict(base[key]), value)
        else:
            base[key] = copy.deepcopy(value)
    return base


class _Builder:
    """Turns one parsed file into an Instrument, naming file and field on every error."""

    def __init__(self, raw: Any, source: str):
        self.raw = raw
        self.source = source

    def fail(self, path: str, problem: str) -> InstrumentError:
        return InstrumentError(f"{self.source}: {path}: {problem}")

    def get(self, mapping: Any, key: str, path: str, kind: Any, default: Any = ...) -> Any:
        if not isinstance(mapping, Mapping):
            raise self.fail(path.rpartition(".")[0] or path, "must be a mapping")
        if key not in mapping or mapping[key] is None:
            if default is ...:
                raise self.fail(path, "is required")
            return default
        value = mapping[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(path, f"must be {_kind_name(kind)}, got {value!r}")
        if not isinstance(value, kind):
            raise self.fail(path, f"must be {_kind_name(kind)}, got {value!r}")
        return value

    def item_list(self, value: Any, path: str, numbers: set[int]) -> tuple[int, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(path, "must be a non-empty list of item numbers")
        for n in value:
            if isinstance(n, bool) or not isinstance(n, int) or n not in numbers:
                raise self.fail(path, f"{n!r} is not an item of this instrument")
        if len(set(value)) != len(value):
            raise self.fail(path, "lists an item twice")
        return tuple(value)

    def build(self) -> Instrument:
        raw = self.raw
        if not isinstance(raw, Mapping):
            raise self.fail("(file)", "must be a mapping of fields")
        unknown = sorted(set(map(str, raw)) - FIELDS)
        if unknown:
            raise self.fail(unknown[0], f"is not a field of an instrument file ({sorted(FIELDS)})")
        key = self.get(raw, "key", "key", str)
        name = self.get(raw, "name", "name", str)
        citation = self.get(raw, "citation", "citation", str)
        rater = self.get(raw, "rater", "rater", str)
        if rater not in RATERS:
            raise self.fail("rater", f"must be one of {RATERS}, got {rater!r}")
        lic = self.get(raw, "licence", "licence", Mapping)
        licence = Licence(
            holder=self.get(lic, "holder", "licence.holder", str),
            terms=self.get(lic, "terms", "licence.terms", str),
            ship_wording=self.get(lic, "ship_wording", "licence.ship_wording", bool),
        )
        items = self.build_items(raw)
        numbers = {item.number for item in items}
        subscales = self.build_subscales(raw, numbers)
        scored = [item.number for item in items if not item.filler]
        total_items = (
            self.item_list(raw["total_items"], "total_items", numbers)
            if raw.get("total_items") is not None
            else tuple(scored)
        )
        fillers = {item.number for item in items if item.filler}
        for where, listed in [("total_items", total_items)] + [
            (f"subscales.{s.key}.items", s.items or ()) for s in subscales
        ]:
            if fillers & set(listed):
                raise self.fail(where, f"includes unscored filler item(s) {sorted(fillers)}")
        metrics = self.build_metrics(raw, subscales)
        default_metric = self.get(raw, "default_metric", "default_metric", str)
        if default_metric not in metrics:
            raise self.fail("default_metric", f"{default_metric!r} is not one of the metrics")
        missing = self.get(raw, "missing", "missing", Mapping)
        max_missing_total = self.get(missing, "total", "missing.total", int)
        if not 0 <= max_missing_total < len(total_items):
            raise self.fail("missing.total", "must be 0 or more and below the item count")
        unverified = self.get(raw, "unverified", "unverified", list, [])
        if not all(isinstance(note, str) for note in unverified):
            raise self.fail("unverified", "must be a list of notes (text)")
        instrument = Instrument(
            key=key,
            name=name,
            citation=citation.strip(),
            licence=licence,
            rater=rater,
            period=self.get(raw, "period", "period", str, ""),
            items=items,
            subscales=subscales,
            total_items=total_items,
            metrics=metrics,
            default_metric=default_metric,
            bands=(),
            max_missing_total=max_missing_total,
            risk_rules=self.build_rules(raw, numbers),
            unverified=tuple(unverified),
            source=self.source,
            translations=self.build_translations(raw),
            definition=copy.deepcopy(dict(raw)),
        )
        self.check_ranges(raw, instrument)
        return replace(instrument, bands=self.build_bands(raw, instrument))

    def build_translations(self, raw: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        spec = self.get(raw, "translations", "translations", Mapping, {})
        out = {}
        for language, fields in spec.items():
            path = f"translations.{language}"
            if not isinstance(fields, Mapping):
                raise self.fail(path, "must be a mapping of translated fields")
            unknown = sorted(set(map(str, fields)) - TRANSLATED_FIELDS)
            if unknown:
                raise self.fail(f"{path}.{unknown[0]}",
                                f"is not a translated field ({sorted(TRANSLATED_FIELDS)})")
            for name in ("anchors", "subscales", "bands"):
                if not isinstance(fields.get(name, {}), Mapping):
                    raise self.fail(f"{path}.{name}", "must be a mapping (English -> translation)")
            if "placeholder" in fields:
                try:
                    str(fields["placeholder"]).format(number=1, key=raw["key"])
                except (KeyError, IndexError, ValueError) as exc:
                    raise self.fail(f"{path}.placeholder",
                                    "may only use {number} and {key}") from exc
            out[str(language)] = dict(fields)
        return out

    def build_items(self, raw: Mapping[str, Any]) -> tuple[Item, ...]:
        spec = self.get(raw, "items", "items", Mapping)
        count = self.get(spec, "count", "items.count", int)
        if count < 1:
            raise self.fail("items.count", "must be at least 1")
        placeholder = self.get(spec, "placeholder", "items.placeholder", str)
        texts = self.get(spec, "text", "items.text", Mapping, {})
        per_item = self.get(spec, "per_item", "items.per_item", Mapping, {})
        response = self.get(raw, "response", "response", Mapping)
        lo = self.get(response, "min", "response.min", int)
        hi = self.get(response, "max", "response.max", int)
        anchors = self.get(response, "anchors", "response.anchors", Mapping, {})
        numbers = range(1, count + 1)
        for where, mapping in (("items.text", texts), ("items.per_item", per_item)):
            for n in mapping:
                if isinstance(n, bool) or not isinstance(n, int):
                    raise self.fail(f"{where}.{n}", "item numbers must be integers")
                if n not in numbers:
                    raise self.fail(f"{where}.{n}", f"there is no item {n} (count is {count})")
        reverse = set(self.optional_items(raw, "reverse", numbers))
        fillers = set(self.optional_items(raw, "fillers", numbers))
        if reverse & fillers:
            raise self.fail("fillers", "a filler item cannot also be reverse-scored")
        try:
            placeholder.format(number=1, key=raw["key"])
        except (KeyError, IndexError, ValueError) as exc:
            raise self.fail("items.placeholder", "may only use {number} and {key}") from exc
        items = []
        for n in numbers:
            path = f"items.per_item.{n}"
            own = per_item.get(n) or {}
            item_lo = self.get(own, "min", f"{path}.min", int, lo)
            item_hi = self.get(own, "max", f"{path}.max", int, hi)
            options = self.build_options(own.get("options"), f"{path}.options")
            if options:
                item_lo = min(o.score for o in options)
                item_hi = max(o.score for o in options)
            if item_hi <= item_lo:
                raise self.fail(path if n in per_item else "response", "max must exceed min")
            items.append(
                Item(
                    number=n,
                    text=str(texts.get(n) or placeholder.format(number=n, key=raw["key"])),
                    min=item_lo,
                    max=item_hi,
                    anchors=dict(self.get(own, "anchors", f"{path}.anchors", Mapping, anchors)),
                    options=options,
                    reverse=n in reverse,
                    filler=n in fillers,
                )
            )
        return tuple(items)

    def optional_items(self, raw: Mapping[str, Any], key: str, numbers: range) -> list[int]:
        listed = raw.get(key) or []
        if not isinstance(listed, list):
            raise self.fail(key, "must be a list of item numbers")
        for n in listed:
            if isinstance(n, bool) or not isinstance(n, int) or n not in numbers:
                raise self.fail(key, f"{n!r} is not an item of this instrument")
        return listed

    def build_options(self, value: Any, path: str) -> tuple[Option, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or len(value) < 2:
            raise self.fail(path, "must be a list of at least two options")
        options = []
        for i, option in enumerate(value):
            where = f"{path}[{i}]"
            options.append(
                Option(
                    code=self.get(option, "code", f"{where}.code", int),
                    label=str(self.get(option, "label", f"{where}.label", (str, int))),
                    score=self.get(option, "score", f"{where}.score", int),
                    text=self.get(option, "text", f"{where}.text", str, ""),
                )
            )
        if len({o.code for o in options}) != len(options):
            raise self.fail(path, "option codes must be distinct")
        return tuple(options)

    def build_subscales(self, raw: Mapping[str, Any], numbers: set[int]) -> tuple[Subscale, ...]:
        spec = self.get(raw, "subscales", "subscales", Mapping, {})
        default_missing = self.get(raw.get("missing") or {}, "subscale", "missing.subscale", int, 0)
        subscales = []
        for key, sub in spec.items():
            path = f"subscales.{key}"
            if sub is None:
                continue  # removed by an override
            if not isinstance(sub, Mapping):
                raise self.fail(path, "must be a mapping")
            if key == TOTAL:
                raise self.fail(path, "'total' is reserved for the whole scale")
            items = sub.get("items")
            subscales.append(
                Subscale(
                    key=str(key),
                    name=self.get(sub, "name", f"{path}.name", str),
                    items=None
                    if items is None
                    else self.item_list(items, f"{path}.items", numbers),
                    keyed=self.get(sub, "keyed", f"{path}.keyed", bool, True),
                    report=self.get(sub, "report", f"{path}.report", bool, True),
                    max_missing=self.get(
                        sub, "max_missing", f"{path}.max_missing", int, default_missing
                    ),
                    unverified=self.get(sub, "unverified", f"{path}.unverified", bool, False),
                )
            )
        for s in subscales:
            if s.max_missing < 0 or (s.items is not None and s.max_missing >= len(s.items)):
                raise self.fail(
                    f"subscales.{s.key}.max_missing", "must be 0 or more and below its item count"
                )
        return tuple(subscales)

    def build_metrics(
        self, raw: Mapping[str, Any], subscales: tuple[Subscale, ...]
    ) -> dict[str, Metric]:
        spec = self.get(raw, "metrics", "metrics", Mapping)
        if not spec:
            raise self.fail("metrics", "needs at least one metric")
        metrics = {}
        for key, m in spec.items():
            path = f"metrics.{key}"
            if m is None:
                continue
            total = self.get(m, "total", f"{path}.total", str)
            if total not in TOTAL_METHODS:
                raise self.fail(f"{path}.total", f"must be one of {TOTAL_METHODS}")
            if total == "mean_of_subscale_means":
                configured = [s for s in subscales if s.items is not None]
                if not configured:
                    raise self.fail(f"{path}.total", "needs subscales with items")
            sub_method = self.get(m, "subscales", f"{path}.subscales", str, "sum")
            if sub_method not in SUBSCALE_METHODS:
                raise self.fail(f"{path}.subscales", f"must be one of {SUBSCALE_METHODS}")
            multiplier = self.get(m, "multiplier", f"{path}.multiplier", (int, float), 1)
            if isinstance(multiplier, bool) or multiplier <= 0:
                raise self.fail(f"{path}.multiplier", "must be a positive number")
            metrics[str(key)] = Metric(
                key=str(key),
                label=self.get(m, "label", f"{path}.label", str),
                total=total,
                subscales=sub_method,
                multiplier=float(multiplier),
            )
        return metrics

    def check_ranges(self, raw: Mapping[str, Any], instrument: Instrument) -> None:
        """A stated ``range`` must match the one the items imply (catches miskeyed files)."""
        for key, m in raw["metrics"].items():
            if not m or m.get("range") is None:
                continue
            path = f"metrics.{key}.range"
            stated = m["range"]
            if not (isinstance(stated, list) and len(stated) == 2 and all(map(_is_number, stated))):
                raise self.fail(path, "must be [lowest, highest]")
            derived = instrument.valid_range(str(key))
            if any(not math.isclose(a, b) for a, b in zip(stated, derived, strict=True)):
                raise self.fail(path, f"states {stated} but the items give {list(derived)}")

    def build_bands(self, raw: Mapping[str, Any], instrument: Instrument) -> tuple[BandSet, ...]:
        spec = self.get(raw, "bands", "bands", list, [])
        band_sets = []
        for i, b in enumerate(spec):
            path = f"bands[{i}]"
            metric = self.get(b, "metric", f"{path}.metric", str)
            if metric not in instrument.metrics:
                raise self.fail(f"{path}.metric", f"{metric!r} is not one of the metrics")
            scale = self.get(b, "scale", f"{path}.scale", str)
            if scale != TOTAL and scale not in {s.key for s in instrument.configured_subscales()}:
                raise self.fail(f"{path}.scale", f"{scale!r} is not 'total' or a subscale")
            levels_raw = self.get(b, "levels", f"{path}.levels", list)
            levels = tuple(
                Band(
                    lower=self.get(lv, "from", f"{path}.levels[{j}].from", (int, float)),
                    label=self.get(lv, "label", f"{path}.levels[{j}].label", str),
                )
                for j, lv in enumerate(levels_raw)
            )
            lowers = [band.lower for band in levels]
            if len(levels) < 2 or lowers != sorted(set(lowers)):
                raise self.fail(f"{path}.levels", "needs two or more bands in rising order")
            lo, hi = instrument.valid_range(metric, scale)
            if not math.isclose(lowers[0], lo) or lowers[-1] > hi:
                raise self.fail(
                    f"{path}.levels",
                    f"must start at the scale's lowest score {lo} and stay within {hi}",
                )
            band_sets.append(
                BandSet(metric, scale, self.get(b, "source", f"{path}.source", str), levels)
            )
        return tuple(band_sets)

    def build_rules(self, raw: Mapping[str, Any], numbers: set[int]) -> tuple[RiskRule, ...]:
        rules = self.get(raw, "risk_rules", "risk_rules", list, [])
        return tuple(
            _rule(r, numbers, lambda p, msg, i=i: self.fail(f"risk_rules[{i}]{p}", msg))
            for i, r in enumerate(rules)
        )


def _rule(spec: Any, numbers: set[int], fail: Any) -> RiskRule:
    if isinstance(spec, RiskRule):
        spec = {
            "id": spec.id,
            "item": spec.item,
            "op": spec.op,
            "value": spec.value,
            "message": spec.message,
        }
    if not isinstance(spec, Mapping):
        raise fail("", "must be a mapping with id, item, op, value")
    for name in ("id", "item", "op", "value"):
        if spec.get(name) is None:
            raise fail(f".{name}", "is required")
    item = spec["item"]
    if isinstance(item, bool) or not isinstance(item, int) or item not in numbers:
        raise fail(".item", f"{item!r} is not an item of this instrument")
    if not isinstance(spec["op"], str) or spec["op"] not in RULE_OPERATORS:
        raise fail(".op", f"must be one of {sorted(RULE_OPERATORS)}")
    if not _is_number(spec["value"]):
        raise fail(".value", f"must be a number, got {spec['value']!r}")
    return RiskRule(
        str(spec["id"]), spec["item"], spec["op"], spec["value"], str(spec.get("message", ""))
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind_name(kind: Any) -> str:
    names = {str: "text", int: "an integer", bool: "true or false", list: "a list"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, "a mapping" if kind is Mapping else kind.__name__)


# --------------------------------------------------------------------------- scoring


def score(
    instrument: Instrument, answers: Mapping[int, int | None], metric: str | None = None
) -> ScoreResult:
    """Score one answer set under a metric (default: the instrument's default metric).

    Missing answers (absent or None) are prorated up to the instrument's limit per scale and
    subscale; beyond it that score is None. A prorated sum scales the answered items' sum onto
    the full scale's range (for items sharing one range this is the mean of answered items
    times the item count). Raises :class:`ScoringError` for an unknown item or an answer that
    is not one of the item's response codes.
    """
    m = instrument.metric(metric)
    keyed, raw = _validated_scores(instrument, answers)
    warnings: list[str] = []
    prorated = False

    sub_values: dict[str, float | None] = {}
    sub_keyed_means: dict[str, float | None] = {}
    for s in instrument.subscales:
        if s.items is None:
            continue  # declared for a language version; a study supplies the items
        source = keyed if s.keyed else raw
        value, was_prorated = _scale_score(instrument, s.items, source, s.max_missing)
        keyed_sum, _ = _scale_score(instrument, s.items, keyed, s.max_missing)
        sub_keyed_means[s.key] = None if keyed_sum is None else keyed_sum / len(s.items)
        if value is not None and m.subscales == "mean":
            value /= len(s.items)
        sub_values[s.key] = None if value is None else value * m.multiplier
        if s.report:
            prorated |= was_prorated and value is not None
            if value is None:
                warnings.append(f"subscale {s.key!r}: more than {s.max_missing} items missing")
            if s.unverified:
                warnings.append(f"subscale {s.key!r}: item membership is UNVERIFIED")

    total: float | None = None
    if m.total == "mean_of_subscale_means":
        total_sum, total_prorated = _scale_score(
            instrument, instrument.total_items, keyed, instrument.max_missing_total
        )
        means = [sub_keyed_means[s.key] for s in instrument.configured_subscales()]
        if total_sum is not None and all(v is not None for v in means):
            total = sum(means) / len(means) * m.multiplier
            prorated |= total_prorated
    elif m.total != "none":
        total_sum, total_prorated = _scale_score(
            instrument, instrument.total_items, keyed, instrument.max_missing_total
        )
        if total_sum is not None:
            if m.total == "mean":
                total_sum /= len(instrument.total_items)
            total = total_sum * m.multiplier
            prorated |= total_prorated
    if m.total != "none" and total is None:
        warnings.append(f"total: too many items missing (limit {instrument.max_missing_total})")

    band_set = instrument.band_set(m.key, TOTAL)
    band = band_set.classify(total) if band_set and total is not None else None
    subscale_bands = {}
    for key, value in sub_values.items():
        sub_bands = instrument.band_set(m.key, key)
        if sub_bands is not None:
            subscale_bands[key] = None if value is None else sub_bands.classify(value)

    missing = sum(1 for item in instrument.scored_items if item.number not in keyed)
    measures = dict(
        zip(
            measure_keys(instrument, m.key),
            _reported(instrument, m, total, sub_values),
            strict=True,
        )
    )
    return ScoreResult(
        instrument=instrument.key,
        metric=m.key,
        total=total,
        subscales=sub_values,
        band=band,
        subscale_bands=subscale_bands,
        prorated=prorated,
        missing=missing,
        warnings=tuple(warnings),
        measures=measures,
    )


def measure_keys(instrument: Instrument, metric: str | None = None) -> list[str]:
    """Export names of the scores a metric reports, e.g. ``DASS-21.stress``.

    An instrument reported by its total alone exports its bare key (``BDI-II``); one with
    reported subscales exports ``KEY.total`` and ``KEY.<subscale>``. Scores under a metric
    other than the default carry it: ``DASS-21.stress@sum``.
    """
    m = instrument.metric(metric)
    suffix = "" if m.key == instrument.default_metric else f"@{m.key}"
    reported = [s.key for s in instrument.configured_subscales() if s.report]
    if not reported:
        return [instrument.key + suffix] if m.total != "none" else []
    keys = [f"{instrument.key}.{TOTAL}{suffix}"] if m.total != "none" else []
    return keys + [f"{instrument.key}.{key}{suffix}" for key in reported]


def risk_flags(
    instrument: Instrument,
    answers: Mapping[int, int | None],
    extra_rules: Iterable[RiskRule | Mapping[str, Any]] = (),
) -> list[RiskRule]:
    """The instrument's risk rules, plus a study's ``extra_rules``, that the answers trigger."""
    numbers = {item.number for item in instrument.items}

    def fail(path: str, problem: str) -> ScoringError:
        return ScoringError(f"{instrument.key}: extra risk rule{path}: {problem}")

    rules = list(instrument.risk_rules) + [_rule(r, numbers, fail) for r in extra_rules]
    _validated_scores(instrument, answers)
    return [rule for rule in rules if rule.triggered_by(answers, instrument)]


def _validated_scores(
    instrument: Instrument, answers: Mapping[int, int | None]
) -> tuple[dict[int, int], dict[int, int]]:
    """Keyed and raw item scores of the answered, scored items; raises on bad answers."""
    keyed: dict[int, int] = {}
    raw: dict[int, int] = {}
    by_number = {item.number: item for item in instrument.items}
    for number, code in answers.items():
        item = by_number.get(number)
        if item is None:
            raise ScoringError(f"{instrument.key}: there is no item {number!r}")
        if code is None:
            continue
        if isinstance(code, bool) or not isinstance(code, int) or code not in item.codes:
            raise ScoringError(
                f"{instrument.key} item {number}: answer {code!r} is not one of {list(item.codes)}"
            )
        if not item.filler:
            keyed[number] = item.keyed_score(code)
            raw[number] = item.raw_score(code)
    return keyed, raw


def _scale_score(
    instrument: Instrument, numbers: Iterable[int], scores: Mapping[int, int], max_missing: int
) -> tuple[float | None, bool]:
    """The (possibly prorated) sum over ``numbers``, or None past the missing-item limit."""
    items = [instrument.item(n) for n in numbers]
    answered = [i for i in items if i.number in scores]
    n_missing = len(items) - len(answered)
    if n_missing > max_missing or not answered:
        return None, n_missing > 0
    total = float(sum(scores[i.number] for i in answered))
    if n_missing == 0:
        return total, False
    lo_all, hi_all = sum(i.min for i in items), sum(i.max for i in items)
    lo_ans, hi_ans = sum(i.min for i in answered), sum(i.max for i in answered)
    return lo_all + (total - lo_ans) * (hi_all - lo_all) / (hi_ans - lo_ans), True


def _reported(
    instrument: Instrument, m: Metric, total: float | None, subscales: Mapping[str, float | None]
) -> list[float | None]:
    reported = [s.key for s in instrument.configured_subscales() if s.report]
    values = [total] if m.total != "none" else []
    return values + [subscales[key] for key in reported]
