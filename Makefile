# Developer entry points. `make test` is what CI runs (.ci/run) and what the README shows.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
BUILD := build
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := $(BUILD)/winiscsi-ipsec-$(VERSION).tar.gz
# The tarball is installed here and every test runs against this copy, not the source tree.
COLLECTIONS := $(abspath $(BUILD)/collections)
INSTALLED := $(COLLECTIONS)/ansible_collections/winiscsi/ipsec
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export WINISCSI_COLLECTIONS := $(COLLECTIONS)
export ANSIBLE_NOCOLOR := 1

.PHONY: help venv build install pytest unit playbooks sanity release test lane-core demo bench clean

help:
	@echo "make demo   - the canary rollout demo against the local WinRM test endpoint"
	@echo "make test   - venv, build + install the collection, run every test against it"
	@echo "make unit | playbooks | sanity | release - one test layer (after make install)"
	@echo "make clean  - remove the venv and build output"

$(BIN)/.installed: tests/requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r tests/requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

build: venv
	rm -rf $(BUILD)/*.tar.gz
	mkdir -p $(BUILD)
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD) .

install: build
	rm -rf $(COLLECTIONS)
	$(BIN)/ansible-galaxy collection install --force -p $(COLLECTIONS) $(TARBALL)
	$(BIN)/ansible-doc winiscsi.ipsec.mmipsec_facts >/dev/null

# The playbook tests mostly wait (ansible-playbook subprocesses, the roles' pauses, read
# timeouts): pytest-xdist runs them on two workers, a module's shared run on one of them
# (tests/playbooks/conftest.py). PLAYBOOK_WORKERS=0 runs them in this process, one by one.
PLAYBOOK_WORKERS ?= 2
export PLAYBOOK_WORKERS
XDIST := -n $(PLAYBOOK_WORKERS) --dist loadscope

# Unit tests (pure logic, the PowerShell static checks, the WinRM test endpoint) and the
# playbook-level tests (real ansible-playbook against the installed collection).
pytest: unit playbooks

unit: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

playbooks: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider $(XDIST) tests/playbooks

sanity: venv
	VENV=$(abspath $(VENV)) tests/sanity/run.sh

# Release checks (issue 6): each script builds its own pinned virtualenv under build/venvs/,
# since the linters' and ansible-core 2.16's dependencies conflict with the main pins.
release:
	tests/release/static.sh
	tests/release/ansible_lint.sh
	tests/release/changelog.sh
	tests/release/docs_lint.sh
	tests/release/ee.sh
	tests/release/galaxy_importer.sh
	tests/release/core_2_16.sh

# Two lanes side by side (2 cores; a lane is often waiting on a subprocess or a pause): the
# 2.19 sanity and pytest runs, and the release checks. --output-sync prints each lane whole.
test: install
	@$(MAKE) --no-print-directory -j2 --output-sync=target lane-core release
	@echo "All test layers passed."

lane-core:
	@$(MAKE) --no-print-directory -j1 sanity pytest

# The main job, end to end: a simulated fleet on the local WinRM endpoint, a canary rollout
# whose change breaks one host, the gate stopping it, the rollback and the fleet report.
demo: install
	VENV=$(abspath $(VENV)) ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) tests/demo/run_demo.sh

# Benchmarks (issue 7): ratios against Ansible's own floor, printed and written to bench/.
# Not part of make test: they take about 35 minutes (bench/run_all.sh --quick: about 3).
bench: install
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) bench/run_all.sh

clean:
	rm -rf $(VENV) $(BUILD)
