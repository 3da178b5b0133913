"""Sphinx configuration of skbackprop's documentation.

Build with warnings as errors (see docs/README.md)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

# Document (and run the examples against) the source tree next to this file.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))
# Processes started by the examples (the Dask workers) import skbackprop too.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
)

# The examples' arrays are small (the digits: 64 features, batches of 200 rows),
# too small for BLAS and OpenMP threads, which cost more than they bring: a
# 200x64 @ 64x64 product takes 60 us on one thread but about 1 ms on two when the
# cores are busy with anything else (tests, another build), which made the grid
# search example take 90 s instead of 20 s. One thread, for this process
# (sphinx-gallery runs the examples in it) and the worker processes it starts;
# set before numpy is first imported. A value already in the environment wins.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import skbackprop  # noqa: E402

project = "skbackprop"
author = "the skbackprop developers"
copyright = "the skbackprop developers"
release = skbackprop.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "offline_mathjax",  # docs/_ext: MathJax served from _static/, not a CDN
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "Makefile", "_ext"]
root_doc = "index"
default_role = "literal"
# No network at build time: no intersphinx, so references to numpy, scipy and
# scikit-learn objects render as text rather than links.

# -- math ------------------------------------------------------------------------
# No network when reading either: MathJax 3 is copied into the built site by
# docs/_ext/offline_mathjax.py (from the django-static-mathjax package) and loaded
# from _static/ (a path without a scheme is relative to it), not from a CDN.
mathjax_path = "mathjax/tex-mml-chtml.js"

# -- autodoc / autosummary / numpydoc -----------------------------------------
autosummary_generate = True
autodoc_default_options: dict = {}
autodoc_typehints = "none"
# Members are listed by the autosummary class template, not by numpydoc.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- sphinx-gallery ------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "gallery_order.ExampleOrder",
    "doc_module": ("skbackprop",),
    "backreferences_dir": "gen_modules/backreferences",
    "abort_on_example_error": True,
    "remove_config_comments": True,
    # Timings go to the build log; no sg_execution_times.rst in the source tree.
    "write_computation_times": False,
    "min_reported_time": 0,
}

# -- benchmark results for performance.rst ---------------------------------------


def _write_benchmark_results():
    """Point performance.rst at the latest benchmarks/results-*.txt, if any.

    The benchmark (benchmarks/bench_vs_sklearn.py) writes its report as text; the
    newest file by name (the names carry the date) is included verbatim.
    """
    results = sorted((ROOT / "benchmarks").glob("results-*.txt"))
    if results:
        latest = results[-1].name
        text = (
            f"The latest recorded run, ``benchmarks/{latest}``:\n\n"
            f".. literalinclude:: /../benchmarks/{latest}\n"
            "   :language: text\n"
        )
    else:
        text = (
            "No results are recorded yet. They will come from\n"
            "``benchmarks/bench_vs_sklearn.py``: the latest\n"
            "``benchmarks/results-*.txt`` is shown here once one is committed.\n"
        )
    out = DOCS / "gen_modules" / "benchmark_results.inc"
    out.parent.mkdir(exist_ok=True)
    if not out.exists() or out.read_text() != text:
        out.write_text(text)


_write_benchmark_results()

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skbackprop {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_show_sourcelink = True
