"""Online applications: what an applicant who applied through the study's public page gave,
beside their pseudonymous participant record.

The participant record holds no identity (identity lives on the linked account, made once the
person is enrolled). Until then the contact address an applicant typed is kept here, in one
row per application, and nowhere else; data removal deletes the row
(``program.trial.removal``). The continuation link's token is stored only as its hash.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, utcnow


class OnlineApplication(db.Model):
    __tablename__ = "online_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), unique=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"),
                                          index=True)
    #: the applicant's contact address, lower-case (the only identity before enrolment)
    email: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str | None] = mapped_column(String(10))  #: the language they applied in
    #: SHA-256 of the continuation link's token (program.core.tokens)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    screened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_version: Mapped[str | None] = mapped_column(String(40))
    #: the information sheet and consent statement as the applicant agreed to them (HTML)
    consent_copy: Mapped[str | None] = mapped_column(Text)

    participant = relationship("Participant")
    study = relationship("Study")
