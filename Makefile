# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
DEV := FLASK_DEBUG=1

# The ruff version is pinned in requirements-dev.txt; .pre-commit-config.yaml runs the same checks.
.PHONY: prerequisites-run prerequisites-test run test lint format install translations messages migrate organizer bench screenshots worker clean

# The system packages (Pango, poppler, Redis...) come first: the README's one apt-get line.
prerequisites-run prerequisites-test:
	@$(PYTHON) tools/prerequisites.py $(@:prerequisites-%=%)

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); $(PYTHON) tools/prerequisites.py venv; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

## Compile the message catalogues (.po -> .mo). The app also does it at start-up when one is
## missing or stale; this is for builds whose app folder is read-only at run time.
translations: install
	$(BIN)/pybabel -q compile -d translations

## After changing text in code or templates: refresh the catalogue, then translate what is new.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --project petition -o translations/messages.pot . 2>/dev/null
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete -w 100

## The demo petition is CAMPAIGN_FILE's default; the open letter and the letter campaign join it.
migrate: prerequisites-run install
	$(DEV) $(FLASK) db upgrade
	$(DEV) $(FLASK) campaign import campaigns/open-letter.toml
	$(DEV) $(FLASK) campaign import campaigns/council-letter.toml
	$(DEV) $(FLASK) demo seed

## Serve the three demo campaigns on http://127.0.0.1:5000 with SQLite and the mail viewer.
run: migrate
	@echo "Campaigns: http://127.0.0.1:5000/   Mail viewer: http://127.0.0.1:5000/_dev/mail/"
	$(DEV) $(FLASK) run --host 127.0.0.1 --port 5000

## The whole suite, spread over the cores; set TEST_DATABASE_URL to use PostgreSQL instead.
## It lists the ten slowest tests at the end.
PYTEST_ARGS ?= -n auto --durations=10
test: prerequisites-test install
	$(BIN)/pytest $(PYTEST_ARGS)

## Lint and format check (what CI runs before the tests).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Apply ruff's fixes and formatting.
format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Create an organizer account for the dashboard (asks for the password).
organizer: migrate
	@read -p "Organizer email: " email && $(DEV) $(FLASK) organizer add "$$email"

## Measure export (and later HTTP) speed against same-run baselines; writes docs/benchmarks.md.
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## Campaign page screenshots (phone and desktop, English and French) into docs/screenshots/.
screenshots: install
	$(BIN)/python tools/screenshots.py

## Deliver mail as its own process (what the Procfile's worker runs).
worker: install
	$(DEV) $(FLASK) mail worker

clean:
	rm -rf $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
