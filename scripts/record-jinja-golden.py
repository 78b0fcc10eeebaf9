#!/usr/bin/python3
"""Records Python Jinja2's rendering of test/fixtures/jinja/cases.json into golden.json.

The golden file is what src/jinja must reproduce (test/jinja/golden.node.test.ts). Run with the
system Python that has Debian's python3-jinja2 (`apt-get install -y python3-jinja2`):
    /usr/bin/python3 scripts/record-jinja-golden.py
Each case renders with the `do` and loop-control extensions, as dbt configures Jinja2. For an
error case the golden keeps Python's message and the template line it was raised at.
"""
import json
import pathlib
import sys
import traceback

import jinja2

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "test" / "fixtures" / "jinja"


def error_line(exc):
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.lineno
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == "<template>":
            line = lineno
    return line


def main():
    env = jinja2.Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
    cases = json.loads((FIXTURES / "cases.json").read_text())
    golden = {"jinja2": jinja2.__version__, "cases": {}}
    problems = []
    for case in cases:
        name = case["name"]
        try:
            out = env.from_string(case["template"]).render(**case.get("context", {}))
            golden["cases"][name] = {"output": out}
            if "error" in case:
                problems.append(f"{name}: expected an error, rendered {out!r}")
        except Exception as exc:  # the message is the golden value
            golden["cases"][name] = {"error": str(exc), "type": type(exc).__name__, "line": error_line(exc)}
            if "error" not in case:
                problems.append(f"{name}: {type(exc).__name__}: {exc}")
            elif case["error"] not in str(exc):
                problems.append(f"{name}: error {str(exc)!r} lacks {case['error']!r}")
    (FIXTURES / "golden.json").write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")
    print(f"recorded {len(cases)} cases with Jinja2 {jinja2.__version__}")
    for p in problems:
        print("PROBLEM", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
