"""The README stays short and opens with the two commands; every relative link in it and in
docs/ resolves (file and heading), and every benchmark result it points to is committed."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BENCHMARKS = {p.stem for p in (ROOT / "benchmarks").glob("*.py") if not p.stem.startswith("_")}

FENCE = re.compile(r"^```.*?^```[^\n]*$", re.M | re.S)
LINK = re.compile(r"\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
RESULTS_PATH = re.compile(r"(?:\.\./)?benchmarks/results/[A-Za-z0-9_.\-/]*[A-Za-z0-9_/]")
BARE_FILE = re.compile(r"`([A-Za-z0-9_\-]+)((?:\.[A-Za-z0-9_\-]+)*\.(?:md|json|jsonl|png))`")


def _prose(text):
    """The text outside fenced code blocks (links there are not links)."""
    return FENCE.sub("", text)


def _slug(heading):
    """GitHub's anchor for a heading: lowercase, punctuation but - and _ dropped, spaces to -."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())   # a link's text
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path):
    anchors, seen = set(), {}
    for line in _prose(path.read_text()).splitlines():
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            slug = _slug(m.group(1))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def _relative_links(path):
    for target in LINK.findall(_prose(path.read_text())):
        if re.match(r"[a-z][a-z0-9+.\-]*:", target, re.I):      # http:, https:, mailto:
            continue
        yield target


def _name(path):
    return str(path.relative_to(ROOT))


def test_readme_is_under_300_lines():
    assert len((ROOT / "README.md").read_text().splitlines()) < 300


def test_readme_opens_with_the_install_and_demo_command_then_the_ci_test_command():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[0].startswith("# ") and lines[1] == ""
    assert lines[2] == "```" and lines[5] == "```", "the two commands are the README's first block"
    install_demo, install_tests = lines[3], lines[4]
    assert "pip install" in install_demo and install_demo.endswith("&& elsa demo")
    assert "pip install" in install_tests and install_tests.endswith("python -m pytest -q")
    # .ci/run runs the README's test command verbatim, as one of its lines.
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    assert install_tests in ci


def test_the_docs_pages_exist_and_the_readme_links_each_of_them():
    linked = {(ROOT / t.split("#")[0]).resolve() for t in _relative_links(ROOT / "README.md")}
    pages = sorted((ROOT / "docs").glob("*.md"))
    assert pages
    assert [_name(p) for p in pages if p.resolve() not in linked] == []


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_relative_link_resolves_to_a_file_and_heading(page):
    broken = []
    for target in _relative_links(page):
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {_name(dest)}")
    assert broken == []


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_benchmark_result_named_is_committed(page):
    text = page.read_text()
    missing = [p for p in RESULTS_PATH.findall(text)
               if not (ROOT / p.removeprefix("../")).exists()]
    # A bare results file name (`search_quality.md`) named after a benchmark must be there too.
    for stem, rest in BARE_FILE.findall(text):
        if any(stem.startswith(b) for b in BENCHMARKS) and not (ROOT / "benchmarks" / "results" / (stem + rest)).exists():
            missing.append(stem + rest)
    assert missing == []


def test_the_slug_is_githubs():
    assert _slug("The k-NN graph of a large pool") == "the-k-nn-graph-of-a-large-pool"
    assert _slug("The paper's tables") == "the-papers-tables"
    assert _slug("Text: against ASReview") == "text-against-asreview"
    assert _slug("Measuring a search: `elsa simulate`") == "measuring-a-search-elsa-simulate"
