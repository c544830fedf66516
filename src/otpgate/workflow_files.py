"""Reads the evaluation workflows' files: the built-in catalog and the operator's own.

The files are YAML (``flows/evaluation/builtin.yaml``, ``OTPGATE_WORKFLOWS_FILE``); this
module decodes them and leaves building and checking the definitions to the flow's pure
parser (:func:`~otpgate.flows.evaluation.definitions.catalog_from_mapping`). The settings
(to check workflow aliases when they load) and the wiring both read the catalog here.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from otpgate.flows.evaluation.definitions import Workflow, catalog_from_mapping

BUILTIN = "builtin.yaml"


def parse_catalog(text: str) -> dict[str, Workflow]:
    """The workflows of one file's text; ``WorkflowError`` if malformed."""
    return catalog_from_mapping(yaml.safe_load(text))


def load_catalog(extra_file: str | None = None) -> dict[str, Workflow]:
    """The built-in workflows, replaced or extended by those of ``extra_file``."""
    text = resources.files("otpgate.flows.evaluation").joinpath(BUILTIN).read_text("utf-8")
    catalog = parse_catalog(text)
    if extra_file:
        catalog.update(parse_catalog(Path(extra_file).read_text("utf-8")))
    return catalog
