"""Derivations as data: ordered steps, each a sentence and a sympy equation.

Every model module of :mod:`diffphase.theory` exposes ``derivation()`` returning a
:class:`Derivation`. The steps are *computed* (each equation is produced by sympy from the
previous ones), never retyped, so the documentation that renders them cannot drift from the
code. :meth:`Derivation.to_markdown` and :meth:`Derivation.to_latex` render them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import sympy as sp

__all__ = ["Step", "Derivation"]


@dataclass(frozen=True)
class Step:
    """One step of a derivation.

    Parameters
    ----------
    text : str
        A short sentence saying what the step does.
    equation : sympy.Basic
        The result of the step (usually a :class:`sympy.Eq`).
    name : str, optional
        A key under which the result can be looked up in the :class:`Derivation`.
    """

    text: str
    equation: sp.Basic
    name: str = ""

    def latex(self) -> str:
        """LaTeX of the equation."""
        return sp.latex(self.equation)


class Derivation:
    """An ordered list of :class:`Step` with a title.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> d = Derivation("Toy", [Step("Square.", sp.Eq(sp.Symbol("y"), x**2), "y")])
    >>> d["y"].rhs
    x**2
    >>> len(d)
    1
    """

    def __init__(self, title: str, steps):
        self.title = title
        self.steps = tuple(steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, key):
        if isinstance(key, str):
            for step in self.steps:
                if step.name == key:
                    return step.equation
            names = [s.name for s in self.steps if s.name]
            raise KeyError(f"no step named {key!r}; named steps: {names}")
        return self.steps[key]

    def to_markdown(self) -> str:
        """Render as Markdown with ``$$ ... $$`` display math (one block per step)."""
        lines = [f"## {self.title}", ""]
        for i, step in enumerate(self.steps, 1):
            lines += [f"{i}. {step.text}", "", f"$$ {step.latex()} $$", ""]
        return "\n".join(lines)

    def to_latex(self) -> str:
        """Render as a LaTeX enumerate environment."""
        items = [
            f"\\item {s.text}\n\\begin{{equation*}}\n{s.latex()}\n\\end{{equation*}}" for s in self.steps
        ]
        return "\\begin{enumerate}\n" + "\n".join(items) + "\n\\end{enumerate}"

    def _repr_markdown_(self) -> str:  # rendered by Jupyter
        return self.to_markdown()

    def __repr__(self) -> str:
        return f"Derivation({self.title!r}, {len(self.steps)} steps)"
