# portrait — the whole study is a graph of files; `make` rebuilds what is out of date.
# `make help` lists the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all
MAKEFLAGS += --no-builtin-rules --no-print-directory --keep-going
# a stage that fails stops what depends on it, not the independent stages beside it (08 beside 06 and 07)
# independent notebooks (01 and 02, 04 and 05) run side by side on the 2 cores; `make -j1` to serialise
ifeq ($(filter -j% --jobs%,$(MAKEFLAGS)),)
MAKEFLAGS += -j2
endif
.SUFFIXES:

PYTHON_SYS ?= python3
VENV := .venv
# `make PYTHON=/path/to/python` runs with an existing environment (conda users, tests) and skips
# creating .venv.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(VENV)/bin/python
ENV := $(VENV)/.installed
else
ENV :=
endif

export PORTRAIT_ROOT := $(CURDIR)
export PYTHONPATH := $(CURDIR)/src
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

RUN := $(PYTHON) -m portrait.pipeline.run
RENDER := $(PYTHON) -m portrait.reporting.render
CHECK_SURVEY := $(PYTHON) -m portrait.reporting.check_survey
INDEXED = $(EXEC)/07_synthesis.ipynb $(filter-out %07_synthesis.ipynb,$(NOTEBOOKS:%=$(EXEC)/%.ipynb))
INDEX = $(PYTHON) -m portrait.reporting.report index $(INDEXED)
# after a stage failed: the reports it leaves out of date say so, and so does the index; make still stops
STALE = { $(PYTHON) -m portrait.reporting.report stale $(1) $(INDEXED); exit 1; }
# `make validate` and `make validate-report` write nothing unless their run succeeds (notebook 08 writes its files in
# its last cell): a failure or a refusal leaves the reports as they were, up to date, and must not mark them stale
KEPT = { echo "  nothing was written: reports/ and data/processed/ are those of the last successful run"; exit 1; }
EXEC := build/executed
P := data/processed
# every module of the package, at any depth (the fieldwork simulator is src/portrait/study/fieldwork/)
PKG := $(sort $(shell find src/portrait -name '*.py' -not -path '*/__pycache__/*')) pyproject.toml
STUDY := config/study.yaml
# each stage's share of config/study.yaml (the settings it declares), rewritten only when it changes: a stage
# re-runs for its own study-wide settings (`source: real` does not redraw the samples of 01 and 02)
STAMP := build/params
RAW_OK := build/raw.ok
# the folders a user fills (survey-tool exports, partner files) by content: names and SHA-256 of their files,
# rewritten when Make reads this file and only when they change. A file removed, or put back with a date older
# than the last run (cp -p, unzip, rsync -a), re-runs the stages that read the folder; a file touched but
# unchanged does not. The stage that reads a folder keeps a copy of the fingerprint it ran on (.built, its date
# kept): the folder back as it was restores that copy, and the stage is up to date again.
FINGERPRINTS := build/fingerprints
fingerprint = $(shell mkdir -p $(FINGERPRINTS) && f=$(FINGERPRINTS)/$(1).sha256 && \
  { find data/raw/$(1) -type f ! -name '.*' -print0 2>/dev/null | LC_ALL=C sort -z | xargs -0 -r sha256sum || true; } > $$f.new; \
  if cmp -s $$f.new $$f; then rm -f $$f.new; elif cmp -s $$f.new $$f.built; then cp -p $$f.built $$f; rm -f $$f.new; \
  else mv $$f.new $$f; fi; echo $$f)
SURVEY_FILES := $(call fingerprint,survey)
PARTNER_FILES := $(call fingerprint,partners)

# The chain, in order. Each notebook NN_name has config/NN_name.yaml and reports/NN_name.html.
NOTEBOOKS := 01_resident_frame 02_visitor_frame 03_fieldwork 04_resident_weighting 05_visitor_weighting \
             06_comparison 07_synthesis
# the validation study (Monte Carlo replications of the chain): a short run here, `make validate` publishes
NOTEBOOKS += 08_validation
REPORTS := $(NOTEBOOKS:%=reports/%.html)
# each analyst report again without its code, for reviewers (reports/relecture/; the synthesis has no code already)
REVIEWED := $(patsubst %,reports/relecture/%.html,$(filter-out 07_synthesis,$(NOTEBOOKS)))

.PHONY: all help test bench lab params scenario check-survey questionnaire invitations accept clean distclean lock refresh-raw
.PHONY: validate validate-report

all: reports/index.html ## Run the whole chain and render the reports (creates .venv first if needed)

help: ## List the targets
	@if [ -t 1 ]; then b=$$'\033[1m'; e=$$'\033[0m'; else b=; e=; fi; \
	  grep -E '^[a-zA-Z_.-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | \
	  awk -F'\t' -v b="$$b" -v e="$$e" '{printf "  %s%-15s%s %s\n", b, $$1, e, $$2}'

# ------------------------------------------------------------------------------- environment
$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON_SYS) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
	  "portrait needs Python 3.11 or newer; found " + sys.version.split()[0] + \
	  " (set PYTHON_SYS=python3.11)")'
	@test -x $(VENV)/bin/python || { echo "creating $(VENV) with $$($(PYTHON_SYS) --version)"; \
	  $(PYTHON_SYS) -m venv $(VENV); }
	@echo "installing pinned dependencies into $(VENV) (constraints.txt)"
	@$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	@$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]' \
	  2> >(grep -v -e "^WARNING: Location" -e "BuildBackendWarning" >&2)
	@touch $@

# ------------------------------------------------------------------------------- raw inputs
# the files the manifest lists, not the folder: a file dropped in data/raw/survey/ or partners/ concerns
# only the stages that read those folders (02, 03), not the frames
$(RAW_OK): data/raw/SHA256SUMS $(wildcard $(addprefix data/raw/,$(shell awk '{print $$2}' data/raw/SHA256SUMS))) $(ENV)
	@$(PYTHON) -m portrait.pipeline.sources verify
	@mkdir -p $(@D) && touch $@

# ------------------------------------------------------------------------------- the chain
$(NOTEBOOKS:%=$(STAMP)/%.study.json) &: $(STUDY) $(NOTEBOOKS:%=notebooks/%.ipynb) $(ENV)
	@$(PYTHON) -m portrait.pipeline.parameters stamps

# A notebook's targets: its data files and its executed notebook (written last, on success).
$(EXEC)/01_resident_frame.ipynb \
$(P)/resident_frame.parquet $(P)/resident_strata.csv $(P)/resident_communes.parquet $(P)/resident_slots.parquet &: \
  notebooks/01_resident_frame.ipynb config/01_resident_frame.yaml $(STAMP)/01_resident_frame.study.json $(RAW_OK) $(PKG) $(ENV)
	@$(RUN) $< || $(call STALE,$<)

$(EXEC)/02_visitor_frame.ipynb data/synthetic/partners \
$(P)/visitor_frame.parquet $(P)/visitor_sample.parquet $(P)/visitor_ledger.parquet \
$(P)/visitor_overlap.parquet $(P)/visitor_strata.csv &: \
  notebooks/02_visitor_frame.ipynb config/02_visitor_frame.yaml config/partner_layouts.yaml $(STAMP)/02_visitor_frame.study.json \
  $(PARTNER_FILES) $(PKG) $(ENV)
	@$(RUN) $< || $(call STALE,$<)
	@cp -p $(PARTNER_FILES) $(PARTNER_FILES).built

$(EXEC)/03_fieldwork.ipynb data/synthetic/survey \
$(P)/truth.csv $(P)/resident_responses.parquet $(P)/visitor_responses.parquet $(P)/fieldwork_ledger.csv &: \
  notebooks/03_fieldwork.ipynb config/03_fieldwork.yaml config/codebook.yaml config/fieldwork_model.yaml \
  $(STAMP)/03_fieldwork.study.json $(RAW_OK) $(P)/resident_slots.parquet $(P)/resident_frame.parquet \
  $(P)/visitor_sample.parquet $(P)/visitor_frame.parquet $(SURVEY_FILES) config/survey_tools.yaml \
  $(PKG) $(ENV)
	@$(CHECK_SURVEY) --if-real || $(call STALE,$<)
	@$(RUN) $< || $(call STALE,$<)
	@cp -p $(SURVEY_FILES) $(SURVEY_FILES).built

# 04 and 05 do not depend on each other: `make -j2` runs them side by side.
$(EXEC)/04_resident_weighting.ipynb \
$(P)/resident_weights.parquet $(P)/resident_margins.csv $(P)/resident_stage_estimates.csv &: \
  notebooks/04_resident_weighting.ipynb config/04_resident_weighting.yaml config/codebook.yaml $(STAMP)/04_resident_weighting.study.json $(RAW_OK) \
  $(P)/resident_responses.parquet $(P)/resident_frame.parquet $(P)/truth.csv $(PKG) $(ENV)
	@$(RUN) $< || $(call STALE,$<)

$(EXEC)/05_visitor_weighting.ipynb \
$(P)/visitor_weights.parquet $(P)/visitor_margins.csv $(P)/visitor_stage_estimates.csv &: \
  notebooks/05_visitor_weighting.ipynb config/05_visitor_weighting.yaml config/codebook.yaml $(STAMP)/05_visitor_weighting.study.json $(RAW_OK) \
  $(P)/visitor_responses.parquet $(P)/visitor_frame.parquet $(P)/truth.csv $(PKG) $(ENV)
	@$(RUN) $< || $(call STALE,$<)

$(EXEC)/06_comparison.ipynb \
$(P)/comparison_estimates.csv $(P)/comparison_differences.csv $(P)/comparison_distributions.csv \
$(P)/comparison_adjusted.csv $(P)/comparison_rankings.csv $(P)/comparison_map.csv $(P)/comparison_words.csv \
$(P)/comparison_sensitivity.csv $(P)/comparison_profile.csv $(P)/comparison_departments.csv &: \
  notebooks/06_comparison.ipynb config/06_comparison.yaml config/codebook.yaml $(STAMP)/06_comparison.study.json \
  $(P)/resident_weights.parquet $(P)/visitor_weights.parquet $(P)/truth.csv $(PKG) $(ENV)
	@$(RUN) $< || $(call STALE,$<)

$(EXEC)/07_synthesis.ipynb &: \
  notebooks/07_synthesis.ipynb config/07_synthesis.yaml config/codebook.yaml $(STAMP)/07_synthesis.study.json \
  $(P)/resident_frame.parquet $(P)/resident_communes.parquet $(P)/resident_strata.csv $(P)/resident_slots.parquet \
  $(P)/visitor_frame.parquet $(P)/visitor_sample.parquet $(P)/resident_weights.parquet \
  $(P)/visitor_weights.parquet $(P)/fieldwork_ledger.csv $(P)/comparison_estimates.csv \
  $(P)/comparison_differences.csv $(P)/comparison_rankings.csv $(P)/comparison_sensitivity.csv \
  $(P)/comparison_words.csv $(P)/comparison_adjusted.csv $(P)/comparison_profile.csv \
  $(P)/comparison_departments.csv $(P)/truth.csv $(PKG) $(ENV)
	@$(RUN) $< || $(call STALE,$<)

# The validation's fixed finite population, streamed once through the frames (4.8 million residents):
# it depends on what fixes the population, not on the weighting, so it runs beside 03 and a weighting
# change does not redo it.
$(P)/finite_truth.parquet: config/08_validation.yaml config/03_fieldwork.yaml config/codebook.yaml \
  config/fieldwork_model.yaml $(STAMP)/08_validation.study.json \
  $(RAW_OK) $(P)/resident_frame.parquet $(P)/visitor_frame.parquet $(PKG) $(ENV)
	@$(PYTHON) -m portrait.study.validation.targets $@ || $(call STALE,notebooks/08_validation.ipynb)

# A short validation run (config/08_validation.yaml); `make validate` runs the published one.
$(EXEC)/08_validation.ipynb $(P)/validation_results.parquet $(P)/validation_summary.csv &: \
  notebooks/08_validation.ipynb config/08_validation.yaml config/01_resident_frame.yaml config/02_visitor_frame.yaml \
  config/03_fieldwork.yaml config/codebook.yaml config/fieldwork_model.yaml $(STAMP)/08_validation.study.json $(RAW_OK) \
  $(P)/resident_frame.parquet $(P)/visitor_frame.parquet $(P)/resident_weights.parquet $(P)/visitor_weights.parquet \
  $(P)/finite_truth.parquet $(PKG) $(ENV)
	@$(RUN) $< || $(call STALE,$<)

# ------------------------------------------------------------------------------- reports
reports/%.html: $(EXEC)/%.ipynb src/portrait/reporting/render.py $(wildcard src/portrait/reporting/templates/portrait/*) $(ENV)
	@$(RENDER) $< $@

# the reviewers' synthesis is rendered without code
reports/07_synthesis.html: $(EXEC)/07_synthesis.ipynb src/portrait/reporting/render.py $(wildcard src/portrait/reporting/templates/portrait/*) $(ENV)
	@$(RENDER) --no-input $< $@

reports/relecture/%.html: $(EXEC)/%.ipynb src/portrait/reporting/render.py $(wildcard src/portrait/reporting/templates/portrait/*) $(ENV)
	@$(RENDER) --no-input $< $@

reports/index.html: $(REPORTS) $(REVIEWED) $(STUDY) src/portrait/reporting/report.py src/portrait/reporting/scenarios.py \
  $(wildcard scenarios/*/scenario.json) $(ENV)
	@$(INDEX)
	@out=$$($(PYTHON) -m portrait.pipeline.parameters check 2>&1) || { echo "$$out" | head -5 | sed 's/^✗ //; s/^/  note: /'; \
	  echo "  note: make ran with config/'s values; run \`make params\` so that the notebooks' parameters cells, and \
	JupyterLab, hold them too (the next make then runs those notebooks again: run it before make next time)"; }

# ------------------------------------------------------------------------------- other targets
# The whole chain is brought up to date first, so that no later `make` finds the published run out of date. The
# published run's replications and summary have their own files, which the short run of `make` never writes.
PUBLISHED_FILES := -p out_results $(P)/validation_published.parquet -p out_summary $(P)/validation_published_summary.csv
validate: reports/index.html $(ENV) ## Validation study as published: 5,000 replications per target (bootstrap on 200), its report and the index (SCHEDULER=tcp://host:8786: on a Dask cluster)
	@$(RUN) notebooks/08_validation.ipynb --timeout 10800 -p replications 5000 -p bootstrap_replications 200 \
	  -p bootstrap_replicates 100 $(PUBLISHED_FILES) $(if $(SCHEDULER),-p scheduler $(SCHEDULER)) || $(KEPT)
	@$(RENDER) $(EXEC)/08_validation.ipynb reports/08_validation.html
	@$(RENDER) --no-input $(EXEC)/08_validation.ipynb reports/relecture/08_validation.html
	@$(INDEX)

# The published run's report again, from the replications `make validate` stored (a change to its text, seconds;
# after a `make` that ran the short validation again, the published report back). Nothing else is brought up to
# date: the stored replications are refused if an input they were made from has changed since.
validate-report: $(ENV) ## Re-render the published validation report from the replications `make validate` stored (no replication re-run)
	@test -f $(P)/validation_published.parquet || { echo "✗ make validate-report: no published validation run to \
	report on ($(P)/validation_published.parquet is missing); \`make validate\` runs it and renders its report"; $(KEPT); }
	@$(RUN) notebooks/08_validation.ipynb -p replications 5000 -p bootstrap_replications 200 \
	  -p bootstrap_replicates 100 $(PUBLISHED_FILES) -p reuse_results True || $(KEPT)
	@$(RENDER) $(EXEC)/08_validation.ipynb reports/08_validation.html
	@$(RENDER) --no-input $(EXEC)/08_validation.ipynb reports/relecture/08_validation.html
	@$(INDEX)

test: $(ENV) ## Run the test suite (unit, R agreement, notebooks, whole-chain determinism)
	@$(PYTHON) -m pytest

bench: $(ENV) ## Time the weighting engine against its targets, svy and weightipy (not part of `make test`)
	@$(PYTHON) -c 'import svy, weightipy' 2>/dev/null || \
	  $(PYTHON) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	@mkdir -p build/bench
	@$(PYTHON) -m pytest benchmarks --benchmark-only --benchmark-min-rounds=15 --benchmark-columns=median,iqr,rounds \
	  --benchmark-sort=name --benchmark-json=build/bench/benchmarks.json

# A scenario reuses the study's outputs: the study is brought up to date first. The index then lists it.
scenario: $(ENV) $(if $(NAME),reports/index.html) ## Run the chain with changed parameters into scenarios/NAME/ (NAME=pop2019, or NAME=x SET="NN_stage.name=value …")
ifeq ($(NAME),)
	@echo 'usage: make scenario NAME=name [SET="04_resident_weighting.calibration_method=logit …"]'
	@echo 'shipped scenarios (config/scenarios/):'; $(PYTHON) -m portrait.pipeline.scenario list
else
	@$(PYTHON) -m portrait.pipeline.scenario run $(NAME) --set "$(SET)" || { $(INDEX) >/dev/null; exit 1; }
	@$(INDEX)
endif

# Real exports: check them alone against the samples already drawn (nothing else runs, nothing is rebuilt);
# `make` runs the same check before stage 03 when source is real.
check-survey: $(ENV) ## Check the real survey exports (data/raw/survey/) against the samples drawn; writes reports/check_survey.html, rebuilds nothing
	@$(CHECK_SURVEY)

questionnaire: $(ENV) ## Both questionnaires as LimeSurvey structure files to import (reports/questionnaire/*.txt), from the codebook and config/survey_tools.yaml
	@$(PYTHON) -m portrait.study.questionnaire_files

# Personal data: written only under private/ (git-ignored), from the samples already drawn (never re-drawn here).
invitations: $(ENV) ## Invitation files for the survey tool (private/invitations/, git-ignored): tokens, e-mails re-linked from the partner files
	@$(PYTHON) -m portrait.study.invitations

# A file of data/processed/ replaced on purpose (weights from elsewhere): record its checksum so that the
# stages that read it accept it (each stage checks the checksums of what it reads).
accept: $(ENV) ## Accept a file of data/processed/ replaced on purpose, e.g. FILE=data/processed/resident_weights.parquet
	@test -n "$(FILE)" || { echo 'usage: make accept FILE=data/processed/resident_weights.parquet'; exit 2; }
	@$(PYTHON) -m portrait.pipeline.manifest accept $(FILE)

LAB_PORT ?= 8888
LAB_IP ?= 127.0.0.1
lab: $(ENV) ## JupyterLab on the project's kernel, outputs kept out of git (LAB_PORT=8888 LAB_IP=127.0.0.1)
	@$(PYTHON) -c 'import jupyterlab' 2>/dev/null || { echo "installing JupyterLab (constraints.txt)"; \
	  $(PYTHON) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,lab]' \
	  2> >(grep -v -e "^WARNING: Location" -e "BuildBackendWarning" >&2); }
	@$(PYTHON) -m portrait.pipeline.lab --port $(LAB_PORT) --ip $(LAB_IP)

params: $(ENV) ## Rewrite the notebooks' parameters cells from config/ (so that JupyterLab runs what make runs)
	@$(PYTHON) -m portrait.pipeline.parameters sync

refresh-raw: $(ENV) ## Rebuild data/raw/communes_hdf.csv from the pinned npm package (needs npm)
	$(PYTHON) -m portrait.pipeline.sources refresh-communes
	$(PYTHON) -m portrait.pipeline.sources verify

lock: ## Re-resolve dependencies in a scratch venv and rewrite constraints.txt
	rm -rf build/lock-venv && $(PYTHON_SYS) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install --quiet --upgrade pip
	build/lock-venv/bin/python -m pip install --quiet -e '.[dev,lab,bench]'
	{ echo "# Exact versions for a reproducible environment (used by make as pip -c constraints.txt)."; \
	  echo "# Regenerate with: make lock"; \
	  build/lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^portrait'; } > constraints.txt
	rm -rf build/lock-venv

clean: ## Remove generated files (executed notebooks, processed data, reports, scenarios); keeps .venv
	rm -rf build scenarios
	find $(P) reports -mindepth 1 ! -name .gitkeep -delete

distclean: clean ## Also remove the virtual environment
	rm -rf $(VENV)
