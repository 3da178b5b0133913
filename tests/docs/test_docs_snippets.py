"""Every Python snippet of README.md and docs/*.rst runs as written.

The snippets are the README's ```python blocks and the ``.. code-block:: python``
directives of the docs (literal ``::`` blocks are fragments that continue the
text around them and are not run). Each runs in a fresh interpreter, as a reader
would paste it, in a temporary folder (snippets that save files write there),
with user and runtime warnings (ConvergenceWarning, overflow) turned into errors:
the examples must converge.

A snippet is excluded only for a reason listed in ``EXCLUDED``, keyed by its file
and the title of the section it is in; the test fails when an exclusion no
longer matches a snippet.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXCLUDED = {
    ("README.md", "GPU and the array API"): (
        "needs a CUDA GPU and PyTorch built with CUDA (and X, y of the reader's)"
    ),
    ("docs/array_api.rst", "Turning it on"): (
        "needs a CUDA GPU and PyTorch built with CUDA (and X, y of the reader's)"
    ),
    ("docs/array_api.rst", "Moving a model: ``move_to``"): (
        "needs a model trained on a CUDA GPU (gpu_model) and PyTorch with CUDA"
    ),
}


def _markdown_snippets(path):
    """Yield ``(line, section, code)`` for each ```python block of a Markdown file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        if line.strip() == "```python":
            start = i + 1
            end = lines.index("```", start)
            yield start + 1, section, "\n".join(lines[start:end]) + "\n"
            i = end
        i += 1


UNDERLINE = re.compile(r"^([=\-~^\"'`*+#])\1{2,}\s*$")
DIRECTIVE = re.compile(r"^(\s*)\.\. code-block:: python\s*$")


def _rst_snippets(path):
    """Yield ``(line, section, code)`` for each ``code-block:: python`` of a file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    section = ""
    i = 0
    while i < len(lines):
        if (
            i + 1 < len(lines)
            and lines[i].strip()
            and not UNDERLINE.match(lines[i])
            and UNDERLINE.match(lines[i + 1])
        ):
            section = lines[i].strip()
        match = DIRECTIVE.match(lines[i])
        if not match:
            i += 1
            continue
        indent = len(match.group(1))
        j = i + 1
        while j < len(lines) and lines[j].strip().startswith(":"):
            j += 1  # the directive's options
        body = []
        while j < len(lines) and (
            not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
        ):
            body.append(lines[j])
            j += 1
        yield i + 1, section, textwrap.dedent("\n".join(body)).strip("\n") + "\n"
        i = j


def _snippets():
    found = [("README.md", *s) for s in _markdown_snippets(ROOT / "README.md")]
    for path in sorted((ROOT / "docs").glob("*.rst")):
        name = f"docs/{path.name}"
        found += [(name, *s) for s in _rst_snippets(path)]
    return found


SNIPPETS = _snippets()
RUN = [s for s in SNIPPETS if (s[0], s[2]) not in EXCLUDED]


def test_snippets_are_found_and_exclusions_are_current():
    keys = [(name, section) for name, _, section, _ in SNIPPETS]
    for key in EXCLUDED:
        assert keys.count(key) == 1, f"the exclusion {key} matches no single snippet"
    # README: the Usage example, your own activation, saving with skops.
    assert sum(name == "README.md" for name, *_ in RUN) >= 3
    assert any(name == "docs/practical_guide.rst" for name, *_ in RUN)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, line, section, code",
    RUN,
    ids=[f"{name}:{line}" for name, line, _, _ in RUN],
)
def test_snippet_runs(name, line, section, code, tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    env["MPLBACKEND"] = "Agg"  # snippets that plot need no display
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run(
        # ConvergenceWarning and the estimators' hints are UserWarnings, overflow
        # a RuntimeWarning; other libraries' deprecation notices stay warnings.
        [sys.executable, "-W", "error::UserWarning", "-W", "error::RuntimeWarning"]
        + [str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (
        f"The snippet at {name}:{line} ({section}) failed:\n{code}\n"
        f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )
