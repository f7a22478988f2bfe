"""Crisis contacts a participant is shown: those of their cohort's country, in their language.

A study keeps its contacts per country (``CrisisContact`` rows): it confirms the shipped
defaults (``program.safety.crisis_defaults``) or enters its own. A participant sees the study's
contacts of their cohort's country; while the study has none for it, the shipped ones of that
country, then the study's or the shipped generic set: never an empty list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from babel import Locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from models import Cohort, CrisisContact, db, write_transaction
from models.cohorts import country_for_zone
from models.safety import CrisisContactKind
from program.core import audit
from program.core.audit import AuditAction
from program.safety.crisis_defaults import OTHER_COUNTRY, defaults_of, shipped_name

#: what a number may hold: digits, spaces, dashes, brackets and a leading +
NUMBER = re.compile(r"^\+?[0-9][0-9 ()-]{1,38}$")
FIELDS = ("country", "kind", "name", "number", "always_open", "opens_at", "closes_at",
          "languages", "free")


class CrisisContactError(Exception):
    """A crisis contact cannot be saved as entered; the message is for the researcher."""


@dataclass(frozen=True)
class ShownContact:
    """One contact as a page shows it, every word in the reader's language."""

    kind: str
    name: str
    number: str
    #: the number for a ``tel:`` link (digits and a leading +)
    dial: str
    details: tuple[str, ...]


@dataclass(frozen=True)
class ShownContacts:
    country: str
    country_name: str
    contacts: tuple[ShownContact, ...]


# --------------------------------------------------------------------------- reading


def study_contacts(study_id: int, country: str | None = None) -> list[CrisisContact]:
    query = select(CrisisContact).where(CrisisContact.study_id == study_id)
    if country is not None:
        query = query.where(CrisisContact.country == country)
    return list(db.session.scalars(query.order_by(CrisisContact.country, CrisisContact.position,
                                                  CrisisContact.id)))


def default_rows(country: str, study_id: int | None = None) -> list[CrisisContact]:
    """The shipped contacts of ``country`` as unsaved rows (of ``study_id``, when given)."""
    return [CrisisContact(study_id=study_id, country=country, position=i + 1, kind=d.kind,
                          name=d.local_name, number=d.number, always_open=d.always_open,
                          opens_at=d.opens_at,
                          closes_at=d.closes_at, languages=d.languages, free=d.free)
            for i, d in enumerate(defaults_of(country))]


def contacts_for(study_id: int | None, country: str) -> tuple[str, list[CrisisContact]]:
    """(country shown, contacts) for a cohort of ``study_id`` in ``country``."""
    for place in dict.fromkeys((country, OTHER_COUNTRY)):
        rows = study_contacts(study_id, place) if study_id else []
        if rows or defaults_of(place):
            return place, rows or default_rows(place)
    return OTHER_COUNTRY, default_rows(OTHER_COUNTRY)


def country_name(country: str, locale: str) -> str:
    if country == OTHER_COUNTRY:
        return _("other countries")
    return Locale.parse(locale).territories.get(country, country)


def _hours(row: CrisisContact) -> str:
    if row.always_open:
        return _("24 hours")
    if row.opens_at and row.closes_at:
        return _("daily %(opens)s–%(closes)s", opens=row.opens_at.strftime("%H:%M"),
                 closes=row.closes_at.strftime("%H:%M"))
    return ""


def _languages(row: CrisisContact, locale: Locale) -> str:
    codes = [c.strip() for c in (row.languages or "").split(",") if c.strip()]
    if not codes:
        return ""
    names = [locale.languages.get(code, code) for code in codes]
    return _("in %(languages)s", languages=("、" if locale.language in ("ja", "zh") else ", ")
             .join(names))


def _cost(row: CrisisContact) -> str:
    return {True: _("free"), False: _("call charges apply"), None: ""}[row.free]


def shown(country: str, rows: list[CrisisContact], locale: str) -> ShownContacts:
    """``rows`` as the reader of ``locale`` sees them: kinds, hours and languages translated,
    shipped names in their language, numbers as they are dialled in ``country``."""
    babel_locale = Locale.parse(locale)
    contacts = tuple(ShownContact(
        kind=CrisisContactKind.label_of(row.kind),
        name=shipped_name(row.country, row.number, row.name, locale),
        number=row.number,
        dial=re.sub(r"[^0-9+]", "", row.number),
        details=tuple(d for d in (_hours(row), _languages(row, babel_locale), _cost(row)) if d),
    ) for row in rows)
    return ShownContacts(country, country_name(country, locale), contacts)


def for_cohort(cohort: Cohort | None, locale: str, *, zone: str | None = None) -> ShownContacts:
    """The contacts of ``cohort``'s country (without a cohort: the country of ``zone``)."""
    country = cohort.country if cohort is not None else country_for_zone(zone)
    place, rows = contacts_for(cohort.study_id if cohort is not None else None, country)
    return shown(place, rows, locale)


def countries_missing(study_id: int) -> list[str]:
    """Countries of the study's cohorts (or, without cohorts, any) that have no contacts yet."""
    have = set(db.session.scalars(select(CrisisContact.country).where(
        CrisisContact.study_id == study_id).distinct()))
    wanted = set(db.session.scalars(select(Cohort.country).where(
        Cohort.study_id == study_id).distinct()))
    if not wanted:
        return [] if have else [OTHER_COUNTRY]
    return sorted(wanted - have)


# --------------------------------------------------------------------------- writing


def _next_position(study_id: int, country: str) -> int:
    last = db.session.scalar(select(func.max(CrisisContact.position)).where(
        CrisisContact.study_id == study_id, CrisisContact.country == country))
    return (last or 0) + 1


def _taken(study_id: int, country: str, number: str, own_id: int | None) -> bool:
    query = select(CrisisContact.id).where(CrisisContact.study_id == study_id,
                                           CrisisContact.country == country,
                                           CrisisContact.number == number)
    if own_id:
        query = query.where(CrisisContact.id != own_id)
    return db.session.scalar(query) is not None


def _lock(study_id: int) -> None:
    from models import Study

    db.session.get(Study, study_id, with_for_update=True, populate_existing=True)


def confirm_defaults(study_id: int, country: str) -> int:
    """Add the shipped contacts of ``country`` the study lacks; how many were added."""
    if not defaults_of(country):
        raise CrisisContactError(_l("Hearth ships no contacts for this country: add them "
                                    "one by one."))
    with write_transaction():
        _lock(study_id)
        added = 0
        for default in default_rows(country):
            if _taken(study_id, country, default.number, None):
                continue
            default.study_id = study_id
            default.position = _next_position(study_id, country)
            db.session.add(default)
            db.session.flush()
            added += 1
        if added:  # a second click finds them all and records nothing
            audit.record(AuditAction.CRISIS_CONTACTS_CONFIRMED, None, study_id=study_id,
                         country=country, added=added)
    return added


def save_contact(study_id: int, contact_id: int | None, values: dict) -> CrisisContact:
    """Add a contact, or change one of the study's (``contact_id``)."""
    number = " ".join(values["number"].split())
    if not NUMBER.match(number):
        raise CrisisContactError(_l("Enter a phone number: digits, spaces and dashes."))
    if values["kind"] not in CrisisContactKind:
        raise CrisisContactError(_l("Choose what kind of contact this is."))
    if (values["opens_at"] is None) != (values["closes_at"] is None):
        raise CrisisContactError(_l("Give both the opening and the closing time, or neither."))
    with write_transaction():
        _lock(study_id)
        row = db.session.get(CrisisContact, contact_id) if contact_id else None
        if contact_id and (row is None or row.study_id != study_id):
            raise CrisisContactError(_l("This contact is not one of the study's."))
        if _taken(study_id, values["country"], number, contact_id):
            raise CrisisContactError(_l("This country already has a contact with this number."))
        wanted = {**{name: values[name] for name in FIELDS}, "number": number,
                  "name": (values["name"] or "").strip()}
        if wanted["always_open"]:
            wanted["opens_at"] = wanted["closes_at"] = None
        if row is not None and all(getattr(row, k) == v for k, v in wanted.items()):
            return row  # as it is already (a second click changes nothing)
        if row is None:
            row = CrisisContact(study_id=study_id,
                                position=_next_position(study_id, values["country"]))
            db.session.add(row)
        for name, value in wanted.items():
            setattr(row, name, value)
        db.session.flush()
        audit.record(AuditAction.CRISIS_CONTACT_SAVED, row, country=row.country, kind=row.kind)
    return row


def remove_contact(study_id: int, contact_id: int) -> None:
    with write_transaction():
        _lock(study_id)
        row = db.session.get(CrisisContact, contact_id)
        if row is None or row.study_id != study_id:
            raise CrisisContactError(_l("This contact is not one of the study's."))
        audit.record(AuditAction.CRISIS_CONTACT_REMOVED, row, country=row.country,
                     kind=row.kind)
        db.session.delete(row)
