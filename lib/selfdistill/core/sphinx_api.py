"""Sphinx extension: every chapter links the API reference of the library calls it makes.

The API reference (``book/api/<package>.md``) documents every public name with autodoc. A chapter
imports the library in one code cell (``from selfdistill.mobahi2020 import fit_greens, oracles``,
``from selfdistill.plots import mobahi2020 as figs``). On every chapter page this extension

* adds a **Library calls** box after the first cell that imports ``selfdistill``: per package, the
  names the chapter imports, and for an imported module the functions the chapter calls through
  it (``figs.plot_fits``), in the order of first use, each linked to its API entry and each
  package to its API page;
* links the **first mention** in the prose (inline code such as ```fit_greens``` or
  ```fit_greens()```) of each of those names to its entry;
* **warns** (so the strict build fails) when a name a chapter imports or calls has no entry in
  the API reference: the links cannot break silently.

Names resolve against the Python domain: ``selfdistill.mobahi2020.fit_greens`` (a re-export)
is the documented ``selfdistill.mobahi2020.hilbert.fit_greens``, where the object is defined.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.nodes import make_refnode

__all__ = ["Import", "library_calls", "library_imports", "resolve_name"]

logger = logging.getLogger(__name__)

#: the class of the box on the page (styled by ``_static/custom.css``)
BOX_CLASS = "selfdistill-api"


@dataclass(frozen=True)
class Import:
    """One name a chapter imports from the library.

    Parameters
    ----------
    alias : str
        The name bound in the chapter (``figs`` for ``... import mobahi2020 as figs``).
    module : str
        The module it is imported from (``selfdistill.plots``).
    name : str
        The imported name (``mobahi2020``); empty for ``import selfdistill.x as y``.
    """

    alias: str
    module: str
    name: str

    @property
    def target(self) -> str:
        """The dotted name the import refers to (``selfdistill.plots.mobahi2020``)."""
        return f"{self.module}.{self.name}" if self.name else self.module


def _parse(code: str) -> ast.Module | None:
    # IPython magics and shell escapes are not Python: blank them, keep the line numbers
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def library_imports(code: str, package: str = "selfdistill") -> list[Import]:
    """The names that ``code`` imports from ``package``, in source order.

    Parameters
    ----------
    code : str
        Python source of one code cell; lines starting with ``%`` or ``!`` are ignored.
    package : str, default "selfdistill"
        The top-level package whose imports are collected.

    Returns
    -------
    list of Import
        One entry per imported name; empty when ``code`` is not Python or imports nothing of
        ``package``.

    Examples
    --------
    >>> code = "import numpy as np\\nfrom selfdistill.plots import mobahi2020 as figs"
    >>> [(i.alias, i.target) for i in library_imports(code)]
    [('figs', 'selfdistill.plots.mobahi2020')]
    """
    tree = _parse(code)
    if tree is None:
        return []
    found: list[Import] = []
    # top-level statements first, in source order (imports nested in a block come later)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                node.module == package or node.module.startswith(package + ".")):
            found += [Import(a.asname or a.name, node.module, a.name)
                      for a in node.names if a.name != "*"]
        elif isinstance(node, ast.Import):
            found += [Import(a.asname, a.name, "") for a in node.names
                      if a.asname and a.name.startswith(package + ".")]
    return found


def library_calls(cells: list[str], package: str = "selfdistill") -> dict[str, list[str]]:
    """The library names the code ``cells`` use, per package, in the order of first use.

    A name imported directly counts as used where it is imported; a module imported under an
    alias (``figs``) contributes each ``figs.<name>`` the cells mention.

    Parameters
    ----------
    cells : list of str
        Python sources of the page's code cells, in page order.
    package : str, default "selfdistill"
        The top-level package whose names are collected.

    Returns
    -------
    dict of str to list of str
        Dotted module name (as imported) to the names used from it, each once.

    Examples
    --------
    >>> cells = ["from selfdistill.core import Ledger\\nimport selfdistill.plots.style as st",
    ...          "st.apply_style()\\nledger = Ledger()"]
    >>> library_calls(cells)
    {'selfdistill.core': ['Ledger'], 'selfdistill.plots.style': ['apply_style']}
    """
    used: dict[str, list[str]] = {}
    modules: dict[str, str] = {}  # alias -> dotted module name

    def add(module: str, name: str) -> None:
        names = used.setdefault(module, [])
        if name not in names:
            names.append(name)

    for code in cells:
        for imp in library_imports(code, package):
            used.setdefault(imp.module if imp.name else imp.target, [])
            if imp.name:
                add(imp.module, imp.name)
            if not imp.name or _is_module(imp.target):  # a class's methods are not module names
                modules[imp.alias] = imp.target
        for alias, module in modules.items():
            for match in re.finditer(rf"(?<![\w.]){re.escape(alias)}\.([A-Za-z_]\w*)", code):
                add(module, match.group(1))
    return used


def _is_module(dotted: str) -> bool:
    """Whether ``dotted`` names an importable module (not a class or function of one)."""
    import importlib.util

    try:
        return importlib.util.find_spec(dotted) is not None
    except (ImportError, ValueError, AttributeError):
        return False


def _defined_at(module: str, name: str) -> str | None:
    """Where ``module.name`` is defined (``module`` may re-export it); None if not importable."""
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    home, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if inspect.ismodule(obj):
        return obj.__name__
    return f"{home}.{qualname}" if home and qualname else None


def resolve_name(objects: Mapping[str, object], module: str, name: str) -> str | None:
    """The documented full name of ``module.name``, or None when the reference lacks it.

    Parameters
    ----------
    objects : mapping of str
        The full names the API reference documents (the Python domain's objects).
    module : str
        The module the name was imported from; a package re-exports its modules' names.
    name : str
        The name itself.

    Returns
    -------
    str or None
        ``module.name`` when documented under that name; else where the object is defined
        (``module`` re-exports it) when that is documented; else the one documented
        ``module.<submodule>.name``; None when there is none or more than one.

    Examples
    --------
    >>> resolve_name({"selfdistill.core.paths.repository_root": 0}, "selfdistill.core",
    ...              "repository_root")
    'selfdistill.core.paths.repository_root'
    >>> resolve_name({}, "selfdistill.core", "nothing") is None
    True
    """
    full = f"{module}.{name}"
    if full in objects:
        return full
    home = _defined_at(module, name)
    if home in objects:
        return home
    depth = module.count(".") + 2
    found = [k for k in objects if k.startswith(module + ".") and k.endswith("." + name)
             and k.count(".") == depth]
    return found[0] if len(found) == 1 else None


def _cell_of(block: nodes.Element) -> nodes.Element:
    """The outermost notebook cell around a code block (the block itself outside a cell)."""
    cell, parent = block, block.parent
    while parent is not None:
        if isinstance(parent, nodes.Element) and "cell" in parent.get("classes", []):
            cell = parent
        parent = parent.parent
    return cell


def _link(app: Sphinx, docname: str, full: str, text: str) -> nodes.reference:
    entry = app.env.get_domain("py").objects[full]
    child = nodes.literal(text, text, classes=["xref", "py"])
    return make_refnode(app.builder, docname, entry.docname, entry.node_id, child, full)


def _on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if not docname.startswith(tuple(app.config.selfdistill_api_chapters)):
        return
    blocks = [b for b in doctree.findall(nodes.literal_block)
              if b.get("language", "python") in ("python", "ipython3", "ipython", "default")]
    calls = library_calls([b.astext() for b in blocks])
    if not calls:
        return
    objects = app.env.get_domain("py").objects
    resolved: dict[str, dict[str, str]] = {}  # module -> name -> documented full name
    for module, names in calls.items():
        if module not in objects:
            logger.warning(f"{docname} imports {module}, which the API reference does not "
                           "document (book/api/)", location=docname)
            continue
        resolved[module] = {}
        for name in names:
            full = resolve_name(objects, module, name)
            if full is None:
                logger.warning(f"{docname} uses {module}.{name}, which has no entry in the API "
                               "reference (add it to its module's __all__ and document it)",
                               location=docname)
            else:
                resolved[module][name] = full
    _link_first_mentions(app, doctree, docname, resolved)
    # a module imported by name (``from selfdistill.plots import mobahi2020 as figs``) shows as
    # its own line with the calls made through it, not also as a name of its package's line
    shown = {m: {n: full for n, full in names.items() if f"{m}.{n}" not in resolved}
             for m, names in resolved.items()}
    shown = {m: names for m, names in shown.items() if names or not resolved[m]}
    cell = _cell_of(next(b for b in blocks if library_imports(b.astext())))
    cell.parent.insert(cell.parent.index(cell) + 1, _box(app, docname, shown))


def _link_first_mentions(app: Sphinx, doctree: nodes.document, docname: str,
                         resolved: dict[str, dict[str, str]]) -> None:
    by_text: dict[str, str] = {}
    for module, names in resolved.items():
        for name, full in names.items():
            by_text.setdefault(name, full)
            by_text.setdefault(f"{module}.{name}", full)
            by_text.setdefault(full, full)
    linked: set[str] = set()
    for literal in list(doctree.findall(nodes.literal)):
        text = literal.astext()
        key = re.sub(r"\(.*\)$", "", text)
        full = by_text.get(key)
        if full is None or full in linked or isinstance(literal.parent, nodes.reference):
            continue
        linked.add(full)
        literal.replace_self(_link(app, docname, full, text))


def _box(app: Sphinx, docname: str, resolved: dict[str, dict[str, str]]) -> nodes.Element:
    box = nodes.admonition(classes=["note", BOX_CLASS])
    box += nodes.title("Library calls", "Library calls")
    items = nodes.bullet_list()
    for module, names in resolved.items():
        para = nodes.paragraph()
        para += _link(app, docname, module, module)
        if names:
            para += nodes.Text(": ")
        for i, (name, full) in enumerate(names.items()):
            if i:
                para += nodes.Text(", ")
            para += _link(app, docname, full, name)
        items += nodes.list_item("", para)
    box += items
    return box


def setup(app: Sphinx) -> dict:
    app.add_config_value("selfdistill_api_chapters", ["notebooks/"], "env")
    app.connect("doctree-resolved", _on_doctree_resolved)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.1"}
