"""What a reader sees of an instrument: its translations and the licensed wording a study loads."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from models import InstrumentWording, Study, db, utcnow, write_transaction
from program.core import audit
from program.core.audit import AuditAction
from program.instruments.library import build_instrument
from program.instruments.model import Instrument, InstrumentError, Item


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



# --------------------------------------------------------------------------- stored wording

#: the languages wording can be loaded in (the app's languages)
LANGUAGES = ("en", "ja", "zh")


def stored_wording(study_id: int, key: str, language: str) -> str | None:
    """The licensed wording (YAML text, checked when it was uploaded) a study loaded for
    ``key`` in ``language``, or None."""
    return db.session.scalar(select(InstrumentWording.wording).where(
        InstrumentWording.study_id == study_id, InstrumentWording.instrument == key,
        InstrumentWording.language == language)) or None


def parse_upload(instrument: Instrument, text: str) -> dict:
    """Check an uploaded wording file against the instrument; raises InstrumentError."""
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InstrumentError(f"not YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(parsed, dict) or not any(
            parsed.get(k) for k in ("items", "options", "anchors", "item_anchors")):
        raise InstrumentError("the file gives no items, options or anchors")
    with_wording(instrument, parsed)
    return parsed


def save_wording(study_id: int, instrument: Instrument, language: str, text: str) -> None:
    """Store (or replace) the study's wording of the instrument in one language, audited."""
    if language not in LANGUAGES:
        raise InstrumentError(f"unknown language {language!r}")
    parse_upload(instrument, text)
    with write_transaction():
        db.session.get(Study, study_id, with_for_update=True, populate_existing=True)
        row = db.session.scalar(select(InstrumentWording).where(
            InstrumentWording.study_id == study_id,
            InstrumentWording.instrument == instrument.key,
            InstrumentWording.language == language))
        if row is not None and row.wording == text:
            return
        if row is None:
            row = InstrumentWording(study_id=study_id, instrument=instrument.key,
                                    language=language)
            db.session.add(row)
        row.wording, row.uploaded_at = text, utcnow()
        db.session.flush()
        audit.record(AuditAction.WORDING_UPLOADED, db.session.get(Study, study_id),
                     instrument=instrument.key, language=language)
