"""The instrument library: the YAML files in this package, loaded and validated as instruments."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from program.core.fields import KIND_NAMES, Fields, Wording, is_number
from program.instruments.model import (
    RULE_OPERATORS,
    TOTAL,
    Band,
    BandSet,
    Instrument,
    InstrumentError,
    Item,
    Licence,
    Metric,
    Option,
    RiskRule,
    Subscale,
)

LIBRARY_ROOT = Path(__file__).parent

RATERS = ("self", "clinician")
TOTAL_METHODS = ("sum", "mean", "mean_of_subscale_means", "none")
SUBSCALE_METHODS = ("sum", "mean")
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
#: How problems with instrument fields are worded ("is required", "must be text, got 3").
WORDING = Wording(
    missing="is required",
    kinds={**KIND_NAMES, str: "text"},
    show=repr,
    not_mapping="must be a mapping",
)


def load_library(root: str | Path | None = None) -> dict[str, Instrument]:
    """Load and validate every ``*.yaml`` instrument under ``root`` (default: the shipped one).

    The format is described in the README beside the files. Raises :class:`InstrumentError`
    naming the file and the field at the first broken file.
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
        #: The file's top-level fields; ``self.fields.at(mapping, path)`` reads a nested one.
        self.fields = Fields(raw, self.fail, wording=WORDING)

    def fail(self, path: str, problem: str) -> InstrumentError:
        return InstrumentError(f"{self.source}: {path}: {problem}")

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
        fields = self.fields
        key = fields.get("key", str)
        name = fields.get("name", str)
        citation = fields.get("citation", str)
        rater = fields.get("rater", str)
        if rater not in RATERS:
            raise self.fail("rater", f"must be one of {RATERS}, got {rater!r}")
        lic = fields.at(fields.get("licence", Mapping), "licence")
        licence = Licence(
            holder=lic.get("holder", str),
            terms=lic.get("terms", str),
            ship_wording=lic.get("ship_wording", bool),
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
        default_metric = fields.get("default_metric", str)
        if default_metric not in metrics:
            raise self.fail("default_metric", f"{default_metric!r} is not one of the metrics")
        missing = fields.at(fields.get("missing", Mapping), "missing")
        max_missing_total = missing.get("total", int)
        if not 0 <= max_missing_total < len(total_items):
            raise self.fail("missing.total", "must be 0 or more and below the item count")
        unverified = fields.get("unverified", list, [])
        if not all(isinstance(note, str) for note in unverified):
            raise self.fail("unverified", "must be a list of notes (text)")
        instrument = Instrument(
            key=key,
            name=name,
            citation=citation.strip(),
            licence=licence,
            rater=rater,
            period=fields.get("period", str, ""),
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
        spec = self.fields.get("translations", Mapping, {})
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
        spec = self.fields.at(self.fields.get("items", Mapping), "items")
        count = spec.get("count", int)
        if count < 1:
            raise self.fail("items.count", "must be at least 1")
        placeholder = spec.get("placeholder", str)
        texts = spec.get("text", Mapping, {})
        per_item = spec.get("per_item", Mapping, {})
        response = self.fields.at(self.fields.get("response", Mapping), "response")
        lo = response.get("min", int)
        hi = response.get("max", int)
        anchors = response.get("anchors", Mapping, {})
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
            own_spec = per_item.get(n) or {}
            own = self.fields.at(own_spec, path)
            item_lo = own.get("min", int, lo)
            item_hi = own.get("max", int, hi)
            options = self.build_options(own_spec.get("options"), f"{path}.options")
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
                    anchors=dict(own.get("anchors", Mapping, anchors)),
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
            fields = self.fields.at(option, f"{path}[{i}]")
            options.append(
                Option(
                    code=fields.get("code", int),
                    label=str(fields.get("label", (str, int))),
                    score=fields.get("score", int),
                    text=fields.get("text", str, ""),
                )
            )
        if len({o.code for o in options}) != len(options):
            raise self.fail(path, "option codes must be distinct")
        return tuple(options)

    def build_subscales(self, raw: Mapping[str, Any], numbers: set[int]) -> tuple[Subscale, ...]:
        spec = self.fields.get("subscales", Mapping, {})
        missing = self.fields.at(raw.get("missing") or {}, "missing")
        default_missing = missing.get("subscale", int, 0)
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
            fields = self.fields.at(sub, path)
            subscales.append(
                Subscale(
                    key=str(key),
                    name=fields.get("name", str),
                    items=None
                    if items is None
                    else self.item_list(items, f"{path}.items", numbers),
                    keyed=fields.get("keyed", bool, True),
                    report=fields.get("report", bool, True),
                    max_missing=fields.get("max_missing", int, default_missing),
                    unverified=fields.get("unverified", bool, False),
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
        spec = self.fields.get("metrics", Mapping)
        if not spec:
            raise self.fail("metrics", "needs at least one metric")
        metrics = {}
        for key, m in spec.items():
            path = f"metrics.{key}"
            if m is None:
                continue
            fields = self.fields.at(m, path)
            total = fields.get("total", str)
            if total not in TOTAL_METHODS:
                raise self.fail(f"{path}.total", f"must be one of {TOTAL_METHODS}")
            if total == "mean_of_subscale_means":
                configured = [s for s in subscales if s.items is not None]
                if not configured:
                    raise self.fail(f"{path}.total", "needs subscales with items")
            sub_method = fields.get("subscales", str, "sum")
            if sub_method not in SUBSCALE_METHODS:
                raise self.fail(f"{path}.subscales", f"must be one of {SUBSCALE_METHODS}")
            multiplier = fields.get("multiplier", (int, float), 1)
            if isinstance(multiplier, bool) or multiplier <= 0:
                raise self.fail(f"{path}.multiplier", "must be a positive number")
            metrics[str(key)] = Metric(
                key=str(key),
                label=fields.get("label", str),
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
            if not (isinstance(stated, list) and len(stated) == 2 and all(map(is_number, stated))):
                raise self.fail(path, "must be [lowest, highest]")
            derived = instrument.valid_range(str(key))
            if any(not math.isclose(a, b) for a, b in zip(stated, derived, strict=True)):
                raise self.fail(path, f"states {stated} but the items give {list(derived)}")

    def build_bands(self, raw: Mapping[str, Any], instrument: Instrument) -> tuple[BandSet, ...]:
        spec = self.fields.get("bands", list, [])
        band_sets = []
        for i, b in enumerate(spec):
            path = f"bands[{i}]"
            fields = self.fields.at(b, path)
            metric = fields.get("metric", str)
            if metric not in instrument.metrics:
                raise self.fail(f"{path}.metric", f"{metric!r} is not one of the metrics")
            scale = fields.get("scale", str)
            if scale != TOTAL and scale not in {s.key for s in instrument.configured_subscales()}:
                raise self.fail(f"{path}.scale", f"{scale!r} is not 'total' or a subscale")
            levels = []
            for j, spec_level in enumerate(fields.get("levels", list)):
                level = fields.at(spec_level, f"levels[{j}]")
                levels.append(Band(lower=level.get("from", (int, float)),
                                   label=level.get("label", str)))
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
                BandSet(metric, scale, fields.get("source", str), tuple(levels))
            )
        return tuple(band_sets)

    def build_rules(self, raw: Mapping[str, Any], numbers: set[int]) -> tuple[RiskRule, ...]:
        rules = self.fields.get("risk_rules", list, [])
        return tuple(
            build_risk_rule(r, numbers, lambda p, msg, i=i: self.fail(f"risk_rules[{i}]{p}", msg))
            for i, r in enumerate(rules)
        )


def build_risk_rule(
    spec: Any, numbers: set[int], fail: Callable[[str, str], Exception]
) -> RiskRule:
    """A checked risk rule from a mapping (or a rule); ``fail(".field", problem)`` on a problem.

    ``numbers`` are the instrument's item numbers. Used for the rules in a file and for the
    extra rules a study adds (see :func:`program.instruments.scoring.risk_flags`).
    """
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
    if not is_number(spec["value"]):
        raise fail(".value", f"must be a number, got {spec['value']!r}")
    return RiskRule(
        str(spec["id"]), spec["item"], spec["op"], spec["value"], str(spec.get("message", ""))
    )

