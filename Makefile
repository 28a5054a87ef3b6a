# Two commands on a fresh machine with Python 3.11 and pip: `make demo`, then `make test`.
# Both install what they need first: uv (from PyPI, into .tools/) and the locked environment (.venv/).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test lint install clean

demo: $(VENV)/.installed
	$(VENV)/bin/python -m estelam.demo

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

install: $(VENV)/.installed

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON) --quiet
	touch $@

clean:
	rm -rf data dbt/target dbt/logs .pytest_cache
