"""Questionnaire scoring: one person's answers turned into scores, bands and risk flags.

``score`` turns one person's answers into a :class:`~program.instruments.model.ScoreResult`;
``risk_flags`` checks the item rules that raise safety alerts. Nothing here touches Flask or
the database.

Answers are ``{item number: response code or None}``. The response code is the value the
person picked: for most items it is the item score itself; items with an option map (BDI-II
16 and 18) store the option's code, which the map turns into a score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from program.instruments.library import build_risk_rule
from program.instruments.model import (
    TOTAL,
    Instrument,
    Metric,
    RiskRule,
    ScoreResult,
    ScoringError,
)


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

    rules = list(instrument.risk_rules) + [build_risk_rule(r, numbers, fail) for r in extra_rules]
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
