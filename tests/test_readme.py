"""The README opens with the two commands, CI runs the second one verbatim, and the Python
example (in docs/python.md) runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("```", 2)[1]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_install_and_demo_then_install_and_tests():
    install_demo, install_tests = _readme_commands()
    assert install_demo.endswith("elsa demo")
    assert "pytest" in install_tests


def test_ci_runs_the_readme_test_command_verbatim():
    _, install_tests = _readme_commands()
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert install_tests in ci


def test_readme_python_example_runs(capsys):
    text = (ROOT / "docs" / "python.md").read_text()
    code = text.split("```python", 1)[1].split("```", 1)[0]
    exec(compile(code, "docs/python.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("{'median':")
    queries, positives, last = out[1].split(" ", 2)
    assert int(queries) > 0 and int(positives) > 5
