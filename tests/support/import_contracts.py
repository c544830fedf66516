"""An import-linter contract type: these packages import only the standard library and
each other (``make lint`` runs it; see ``[tool.importlinter]`` in ``pyproject.toml``).

A ``forbidden`` contract names what may not be imported, so a third-party package nobody
thought to list gets through. This one names what may be: every module the
``source_modules`` import directly must be one of theirs or part of the standard library
(``sys.stdlib_module_names``). Checking direct imports suffices, because every module
they may import is held to the same rule.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


@dataclass(frozen=True)
class _Breach:
    importer: str
    imported: str
    line_number: int
    line: str


def _top(module: str) -> str:
    return module.split(".", 1)[0]


class StandardLibraryOnly(Contract):
    """Options: ``source_modules`` (packages), ``broken_contract_guidance`` (optional)."""

    type_name = "standard_library_only"

    source_modules = fields.SetField(subfield=fields.ModuleField())
    broken_contract_guidance = fields.TextField(required=False)

    def _within(self, module: str) -> bool:
        return any(
            module == m.name or module.startswith(m.name + ".")
            for m in self.source_modules  # type: ignore[attr-defined]
        )

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        breaches: list[_Breach] = []
        for source in sorted(m.name for m in self.source_modules):  # type: ignore[attr-defined]
            for importer in sorted(graph.find_descendants(source) | {source}):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if self._within(imported) or _top(imported) in sys.stdlib_module_names:
                        continue
                    for detail in graph.get_import_details(importer=importer, imported=imported):
                        breaches.append(
                            _Breach(
                                importer,
                                imported,
                                int(detail["line_number"]),
                                str(detail["line_contents"]),
                            )
                        )
        return ContractCheck(kept=not breaches, metadata={"breaches": breaches})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for breach in check.metadata["breaches"]:
            output.print_error(
                f"{breach.importer} imports {breach.imported} (l.{breach.line_number}: "
                f"{breach.line}): neither the standard library nor one of "
                + ", ".join(sorted(m.name for m in self.source_modules))  # type: ignore[attr-defined]
            )
            output.new_line()
        if self.broken_contract_guidance:  # type: ignore[attr-defined]
            output.print(str(self.broken_contract_guidance))  # type: ignore[attr-defined]
