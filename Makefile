# landdb: two commands on a fresh Debian 12 machine: `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SYSTEM := $(VENV)/.system

.PHONY: demo test bench lint setup sample clean-venv

setup: $(STAMP)

# Debian packages (PostGIS, GDAL, QGIS, CJK font): re-checked when the script changes.
$(SYSTEM): scripts/install-system.sh
	bash scripts/install-system.sh
	mkdir -p $(VENV) && touch $@

# A venv on Debian's Python 3.11 that also sees QGIS and psycopg2 from the system.
$(STAMP): pyproject.toml $(SYSTEM)
	test -x $(PY) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

demo: $(STAMP)
	$(VENV)/bin/landdb demo

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

sample: $(STAMP)
	$(VENV)/bin/landdb sample --out sample_data

bench: $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,bench]'
	$(PY) benchmarks/run.py

clean-venv:
	rm -rf $(VENV)
