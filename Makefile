# The two commands of the README's quick start: `make run` and `make test`.
# Each creates .venv and installs what it needs; both are safe to run again.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test browser alertmanager lint format bench clean

$(STAMP): pyproject.toml tests/sandbox/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[embedded,test]' -e tests/sandbox
	@touch $(STAMP)

# The sandbox when no Slack credentials are set; a real workspace otherwise.
run: $(STAMP)
	@if [ -n "$$SLACK_BOT_TOKEN" ] || grep -qs '^SLACK_BOT_TOKEN=.\+' .env; then \
		$(BIN)/warroom serve; \
	else \
		$(BIN)/warroom sandbox; \
	fi

# The post-mortem page is tested in a real headless Chromium (Debian's). Installed when this
# machine allows it (root with apt-get); otherwise that one test is skipped with a reason.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } || \
		echo "chromium not installed: the browser test will be skipped"

# The alert intake is tested against the real Alertmanager (Debian's prometheus-alertmanager),
# installed the same way (the test runs its own on a free port); otherwise that test is skipped.
alertmanager:
	@command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-alertmanager >/dev/null) ; } || \
		echo "prometheus-alertmanager not installed: the real Alertmanager test will be skipped"

test: $(STAMP) browser alertmanager
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile
	@if command -v kubectl >/dev/null 2>&1; then kubectl kustomize deploy/ > /dev/null && echo "deploy/ renders"; \
	else echo "kubectl not installed: skipping the deploy/ render check"; fi
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/ack_latency.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
