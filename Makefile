# Two commands on a fresh machine with Python 3.11 and pip: `make demo`, then `make test`.
# Both install what they need first: uv (from PyPI, into .tools/) and the locked environment (.venv/).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test lint install clean dashboard browser

demo: $(VENV)/.installed
	$(VENV)/bin/estelam demo

test: $(VENV)/.installed browser
	$(VENV)/bin/python -m pytest

# The dashboard tests drive Debian's chromium (Playwright's own browser download cannot work offline);
# Noto Naskh Arabic renders the Persian text in screenshots and PDFs; poppler-utils reads the PDFs back;
# WeasyPrint subsets fonts with HarfBuzz's subsetter (libharfbuzz-subset0).
browser:
	@command -v chromium >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 \
		&& fc-list 2>/dev/null | grep -qi "Noto Naskh Arabic" \
		&& ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset || { \
		echo "installing chromium, fonts-noto-core, poppler-utils and libharfbuzz-subset0 (apt-get)"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q chromium fonts-noto-core poppler-utils libharfbuzz-subset0 >/dev/null; }

# The house's rules: style (ruff), types (mypy, strict), and the rooms' import direction (import-linter).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

install: $(VENV)/.installed

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

# Bytecode is compiled once here: a machine that sets PYTHONDONTWRITEBYTECODE (this one does) would otherwise
# compile Airflow, dbt, pandas and GX from source in every process that imports them (18.8 s -> 7.4 s to import them).
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON) --quiet --compile-bytecode
	$(VENV)/bin/python -m compileall -q estelam connectors simulators dags dashboards benchmarks
	touch $@

clean:
	rm -rf data dbt/target dbt/logs .pytest_cache

dashboard: $(VENV)/.installed
	$(VENV)/bin/estelam dashboard
