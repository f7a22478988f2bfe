"""Hearth's data model: one module per part of the domain; importing this package registers all."""

from models.applications import OnlineApplication
from models.assessments import AssessmentInvitation, Response, Score, Screening, Timepoint
from models.audit import AuditEntry
from models.base import Base, db, utcnow, write_transaction
from models.cohorts import Cohort, CohortFacilitator
from models.contacts import ContactLogEntry
from models.groups import Group, GroupMembership
from models.invitations import Invitation
from models.meetings import Attendance, Meeting
from models.notifications import NotificationPreference, PushSubscription
from models.outbox import OutboxMessage
from models.people import PasswordResetToken, RecoveryCode, SignInSession, User
from models.posts import Post, PostFlag
from models.practice import PracticeLog, SessionProgress
from models.recordings import PracticeRecording
from models.safety import AdverseEvent, CrisisContact, SafetyAlert
from models.studies import (
    AllocationSlot,
    Arm,
    ConsentVersion,
    InstrumentWording,
    Participant,
    Study,
    StudyStaff,
)

__all__ = [
    "AdverseEvent", "AllocationSlot", "Arm", "AssessmentInvitation", "Attendance", "AuditEntry",
    "Base", "Cohort", "CohortFacilitator", "ConsentVersion", "Group", "GroupMembership",
    "InstrumentWording", "Invitation", "Meeting",
    "OutboxMessage", "Participant", "PasswordResetToken", "PracticeLog", "Post", "PostFlag",
    "RecoveryCode", "Response", "SafetyAlert", "Score", "Screening", "SessionProgress",
    "SignInSession", "Study", "StudyStaff", "Timepoint", "User", "db", "utcnow",
    "write_transaction",
    "OnlineApplication", "ContactLogEntry", "PracticeRecording", "CrisisContact",
    "NotificationPreference", "PushSubscription",
]
