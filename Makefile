# Hearth: `make run` starts the app with demo data on SQLite (two-factor sign-in optional, so
# the demo logins work with a password alone); `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
FLASK = $(BIN)/flask --app app
CHROMIUM ?= /usr/bin/chromium
PYTEST_ARGS ?=
TRANSLATIONS = translations
# Compiled catalogues are built here, never committed (see .gitignore).
CATALOGUES = $(patsubst %.po,%.mo,$(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po))
EXTRACT_IGNORE = .* ._ tests analysis benchmarks migrations instance __pycache__

.PHONY: run test install install-dev browser proxy lint migrate-check scheduler clean messages translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The project itself in editable mode, for its console script (hearth-analysis on the venv's
# PATH, runs from any directory); pip fetches the build backend (setuptools) for the build.
$(VENV)/.installed: requirements.txt pyproject.toml $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed translations

install-dev: $(VENV)/.installed-dev translations

## Compile the interface translations (translations/<lang>/LC_MESSAGES/messages.mo).
translations: $(CATALOGUES)

$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile -l $* -i $< -o $@

## Extract every translatable string into messages.pot and merge it into each language's .po
## (new strings arrive empty, changed ones marked fuzzy for the translators).
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F $(TRANSLATIONS)/babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -k add:3 \
	  --ignore-dirs='$(EXTRACT_IGNORE)' --project=Hearth --copyright-holder="Hearth contributors" \
	  --sort-by-file --width=100 -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --width=100

## Install Debian's Chromium (browser tests drive it with Playwright; no browser download).
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will fail"; \
	  else echo "warning: $(CHROMIUM) missing: install Debian's chromium package for the browser tests"; fi; \
	fi

## Install Debian's nginx (tests/test_proxy.py runs it in front of gunicorn; no service started).
proxy:
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null) \
	      || echo "warning: could not install nginx; the proxy test will fail"; \
	  else echo "warning: nginx missing: install Debian's nginx-light package for the proxy test"; fi; \
	fi

# The scheduler runs beside the dev server (its own process, stopped with it), so notices go out:
# the console mail backend logs each one here and the admin page "Outbox" shows them.
run: install
	$(FLASK) db upgrade
	$(FLASK) demo seed --if-empty
	export STAFF_TWO_FACTOR=optional OUTBOX_KEEP_SENT_BODIES=1; \
	$(FLASK) scheduler run & scheduler=$$!; trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --port $${PORT:-5000}

test: install-dev browser proxy
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

scheduler: install
	$(FLASK) scheduler run

clean:
	rm -rf $(VENV) instance .pytest_cache
	rm -f $(CATALOGUES)
