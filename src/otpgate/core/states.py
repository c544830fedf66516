"""One shape for otpgate's state machines: an enum of states and a table of moves.

Each machine (the verification session in ``core/session.py``, the evaluation, the
PhoneMatch transaction, the sponsor OTP in ``flows/``) declares its states as an enum and
its allowed transitions as a :class:`TransitionTable`; every state change asks the table
(:meth:`TransitionTable.move`), which raises :class:`~otpgate.core.errors.IllegalTransition`
for any move it does not list. Each module draws its machine in its docstring.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, TypeVar

from otpgate.core.errors import IllegalTransition

S = TypeVar("S", bound=enum.Enum)


@dataclass(frozen=True, slots=True)
class Transition(Generic[S]):
    source: S
    target: S


class TransitionTable(Generic[S]):
    """The allowed moves of one machine: ``{state: the states it may move to}``.

    Every state must have a row (a terminal state's row is empty), so a state added to the
    enum without a decision about its moves fails when the module loads."""

    def __init__(self, name: str, states: type[S], moves: Mapping[S, Iterable[S]]) -> None:
        missing = [s for s in states if s not in moves]
        if missing:
            raise ValueError(f"{name}: no row for {', '.join(str(s) for s in missing)}")
        self.name = name
        self.states = states
        self.moves: Mapping[S, frozenset[S]] = MappingProxyType(
            {s: frozenset(moves[s]) for s in states}
        )

    def allows(self, source: S, target: S) -> bool:
        return target in self.moves[source]

    def move(self, source: S, target: S) -> S:
        """``target``, if the table lets ``source`` move there; else ``IllegalTransition``."""
        if target not in self.moves[source]:  # allows(), inlined: every state change runs it
            raise IllegalTransition(self.name, source, target)
        return target

    def is_terminal(self, state: S) -> bool:
        return not self.moves[state]

    def transitions(self) -> list[Transition[S]]:
        """Every allowed move, in the enum's order (for tests and diagrams)."""
        return [Transition(s, t) for s in self.states for t in self.states if self.allows(s, t)]
