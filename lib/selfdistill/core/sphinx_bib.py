"""Sphinx extension: bibliography labels in the same author–year form as the in-text citations.

The book cites with ``bibtex_reference_style: author_year`` ("Mobahi et al. (2020)"), while the
default bibliography style labels entries ``[MFB20]``. This registers the pybtex style
``authoryear`` (pybtex's ``unsrt`` formatting, entries sorted by author and year, labelled "Mobahi
et al. 2020"); ``_config.yml`` selects it with ``bibtex_default_style: authoryear``.
"""

from __future__ import annotations

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle
from sphinx.application import Sphinx

__all__ = ["AuthorYearLabels", "AuthorYearStyle"]


def _surname(person) -> str:
    return " ".join(person.prelast_names + person.last_names).replace("{", "").replace("}", "")


class AuthorYearLabels(BaseLabelStyle):
    """Labels "Smith 2020", "Smith and Jones 2020", "Smith et al. 2020"; "a", "b" on clashes."""

    def format_labels(self, sorted_entries):
        labels = []
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [_surname(p) for p in people]
            who = (names[0] if len(names) == 1 else f"{names[0]} and {names[1]}"
                   if len(names) == 2 else f"{names[0]} et al." if names else entry.key)
            labels.append(f"{who} {entry.fields.get('year', 'n.d.')}")
        seen: dict[str, int] = {}
        for label in labels:
            seen[label] = seen.get(label, 0) + 1
        suffix: dict[str, int] = {}
        for label in labels:
            if seen[label] > 1:
                suffix[label] = suffix.get(label, 0) + 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[suffix[label] - 1]
            else:
                yield label


class AuthorYearStyle(UnsrtStyle):
    """pybtex's ``unsrt`` formatting with author–year labels, sorted by author and year.

    Registered as the ``authoryear`` bibliography style (``bibtex_default_style``).

    Parameters
    ----------
    **kwargs
        Passed on to :class:`pybtex.style.formatting.unsrt.Style`.
    """

    default_label_style = AuthorYearLabels
    default_sorting_style = SortingStyle


register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)


def setup(app: Sphinx) -> dict:
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.1"}
