"""Serve MathJax from the built site, so that the formulas render offline.

Sphinx's ``sphinx.ext.mathjax`` loads MathJax from a CDN by default; without a
network the pages then show raw TeX. This extension copies MathJax 3 from the
``django-static-mathjax`` package (a PyPI package of MathJax's own release files,
usable without Django; in the ``docs`` extra) into ``_static/mathjax/`` of the
HTML output. ``conf.py`` points ``mathjax_path`` at it::

    mathjax_path = "mathjax/tex-mml-chtml.js"

A path without a scheme is relative to ``_static/``. Copied: that entry file and
the component folders MathJax loads from beside it on demand (fonts, TeX
extensions, the menu's accessibility and SVG output); not the other combined
entry files. About 10 MB.
"""

import shutil
from importlib import resources
from pathlib import Path

from sphinx.errors import ExtensionError

# Where the package keeps MathJax's browser build (MathJax 3 names it es5/).
_PACKAGE = "mathjax"
_ES5 = ("static", "mathjax", "es5")
# mathjax_path's folder under _static/.
_PREFIX = "mathjax/"


def _mathjax_dir():
    try:
        root = resources.files(_PACKAGE)
    except ModuleNotFoundError:
        root = None
    if root is not None:
        es5 = Path(str(root.joinpath(*_ES5)))
        if es5.is_dir():
            return es5
    raise ExtensionError(
        "offline_mathjax: MathJax not found; install the docs extra "
        '(pip install ".[docs]"), which has django-static-mathjax'
    )


def _entry(app):
    path = app.config.mathjax_path
    if not path.startswith(_PREFIX) or "/" in path[len(_PREFIX) :]:
        raise ExtensionError(
            f"offline_mathjax: mathjax_path must be {_PREFIX}<entry file>, "
            f"e.g. {_PREFIX}tex-mml-chtml.js, not {path!r}"
        )
    return path[len(_PREFIX) :]


def _check(app):
    """Fail before the (long) build, not after it, if MathJax is missing."""
    if app.builder.format != "html":
        return
    entry = _entry(app)
    if not (_mathjax_dir() / entry).is_file():
        raise ExtensionError(
            f"offline_mathjax: no {entry} in {_mathjax_dir()} (mathjax_path)"
        )


def _copy(app, exc):
    if exc is not None or app.builder.format != "html":
        return
    src = _mathjax_dir()
    dest = Path(app.outdir) / "_static" / _PREFIX.rstrip("/")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / _entry(app), dest)
    for sub in sorted(p for p in src.iterdir() if p.is_dir()):
        shutil.copytree(sub, dest / sub.name, dirs_exist_ok=True)


def setup(app):
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("builder-inited", _check)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
