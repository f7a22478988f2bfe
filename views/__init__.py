"""The web layer: one blueprint per audience (see ``app.BLUEPRINTS``), each behind
``views.access.role_required``, with the forms and presenters of its pages."""
