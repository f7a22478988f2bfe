"""Forms of the admin pages: inviting staff (one, or many from a CSV), changing a role."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from models.people import Role
from views.forms import LANGUAGES, options

STAFF_ROLES = [role for role in Role if role != Role.PARTICIPANT]


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=options(Role.choices(STAFF_ROLES)))
    language = SelectField(_l("Language of the invitation"), choices=options(LANGUAGES))


class BulkUploadForm(FlaskForm):
    file = FileField(_l("CSV file of the people to invite"),
                     validators=[FileRequired()])


class BulkConfirmForm(FlaskForm):
    rows = HiddenField(validators=[DataRequired()])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=options(Role.choices()))
