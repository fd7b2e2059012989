# The book's commands. Everything runs inside the project's venv (.venv), which
# `make install` creates on first use; every other target depends on it.
#
#   make book      build the HTML site from the committed, executed notebooks
#   make pdf       the whole book as one PDF, offline: _build/pdf/book.pdf
#   make test      unit tests, nbval over every chapter, strict site build, browser tests
#                  of the site and the PDF
#                  (first installs missing Debian packages: make system)
#   make execute   re-execute changed chapters in place (GPU if present), then build
#   make rerun CHAPTER=<name> PARAMS="-p NAME VALUE ..."   papermill rerun into runs/
#   make lab       JupyterLab on the project's kernel
#   make bench     print the benchmark figures of bench/

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
JB := $(VENV)/bin/jupyter-book
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed
ASSETS := _vendor/.stamp
# Read-only folders searched for data archives (CI and developers: ../shared/data).
export BMLIB_DATA_MIRRORS ?= $(abspath ../shared/data)
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

.PHONY: install system assets book build pdf execute rerun test test-unit test-notebooks \
        test-browser lab bench clean help

help:  # the comment block at the top of this file, up to its first blank line
	@sed -n '1,/^$$/{/^#/p}' Makefile

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -c constraints.txt -e ".[book,dev]"
	@touch $@
	@echo "installed: $$($(PY) -c 'import torch, jupyter_book; print("torch", torch.__version__, "| jupyter-book", jupyter_book.__version__)')"

install: $(STAMP)

# Debian packages (Chromium, fonts, npm, the fortunes-zh corpus), installed when missing.
system:
	@bash tools/system_packages.sh

$(ASSETS): package.json package-lock.json tools/vendor_assets.py | system
	npm ci --no-audit --no-fund --loglevel=error
	$(PY) -m tools.vendor_assets
	@touch $@

assets: $(STAMP) $(ASSETS)

build: install assets
	$(JB) build . -W -n --keep-going
	@echo "Site built: open _build/html/index.html, or serve it (mermaid needs http):"
	@echo "  $(PY) -m http.server -d _build/html 8000   # then http://127.0.0.1:8000"

book: build

# Jupyter Book's single-page HTML, printed by headless Chromium once MathJax and mermaid
# have rendered (tools/build_pdf.py); prints the page count, size and time.
pdf: install assets
	@# its own output and doctree folders: an environment pickled by the HTML build breaks
	@# the single-page writer (sphinxcontrib-mermaid: "unknown node type: mermaid")
	$(JB) build . --builder singlehtml --path-output _build/pdf-site -W -n --keep-going
	$(PY) -m tools.build_pdf

execute: install assets
	$(PY) -m tools.execute $(if $(FORCE),--force,)
	$(MAKE) build

rerun: install
	@$(PY) -m tools.rerun "$(CHAPTER)" $(PARAMS)

test-unit: install
	$(PY) -m pytest tests --ignore=tests/browser

test-notebooks: install
	$(PY) -m tools.validate_notebooks

test-browser: build pdf
	$(PY) -m pytest tests/browser

test: system install assets
	$(MAKE) test-unit
	$(MAKE) test-notebooks
	$(MAKE) test-browser

lab: install
	$(PY) -m jupyter lab --allow-root --ip=127.0.0.1 --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/chapters

bench: install
	@for script in bench/*.py; do case $$(basename $$script) in _*) continue;; esac; \
	  echo "== $$script"; $(PY) -m bench.$$(basename $$script .py) || exit 1; done  # _*: workers

clean:
	rm -rf _build build runs _vendor
