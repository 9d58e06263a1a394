"""
The package layout is the architecture, and these tests keep it so:

  - C{_core} is sans-IO: it imports nothing else of the relay, and neither
    Twisted, treq nor zope; importing it loads none of them;
  - C{_providers} imports only C{_core}, and no Twisted either;
  - C{_store} (where responses are kept) imports only C{_core};
  - C{_web} imports C{_core}, C{_providers} and C{_store};
  - C{_run} imports the packages below it, and C{_tools} only from its CLI;
  - C{_tools} imports what it needs, except C{_run}.
"""

import ast
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

PACKAGE = Path(__file__).parent.parent.parent / "codex_relay"
LAYERS = ("_core", "_providers", "_store", "_web", "_run", "_tools")
ALLOWED = {
    "_core": {"_core"},
    "_providers": {"_core", "_providers"},
    "_store": {"_core", "_store"},
    "_web": {"_core", "_providers", "_store", "_web"},
    "_run": {"_core", "_providers", "_store", "_web", "_run"},
    "_tools": {"_core", "_providers", "_store", "_web", "_tools"},
}
IO = ("twisted", "treq", "zope")
SANS_IO = ("_core", "_providers")


def imports(path: Path, package: Path = PACKAGE) -> set[str]:
    """
    Every module C{path} imports, at any depth of its code, absolute.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = ".".join(path.relative_to(package.parent).with_suffix("").parts)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[:-node.level]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(module + "." + alias.name for alias in node.names)
    return found


def layerOf(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "codex_relay" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def violations(package: Path) -> list[str]:
    """
    The imports under C{package} that break the layer rules.
    """
    wrong = []
    for path in sorted(package.rglob("*.py")):
        layer = path.relative_to(package).parts[0]
        if layer not in LAYERS:
            continue
        for module in sorted(imports(path, package)):
            target = layerOf(module)
            if layer in SANS_IO and module.split(".")[0] in IO:
                wrong.append("{} imports {}".format(path.relative_to(package), module))
            if target is None or target in ALLOWED[layer]:
                continue
            if layer == "_run" and target == "_tools" and path.name == "cli.py":
                continue  # the CLI dispatches to the tools
            wrong.append("{} imports {}".format(path.relative_to(package), module))
    return wrong


class LayoutTests(SynchronousTestCase):
    def test_rules(self) -> None:
        self.assertEqual(violations(PACKAGE), [])

    def test_coreLoadsNoTwisted(self) -> None:
        """
        Importing every sans-IO module in a fresh interpreter loads none of
        Twisted, treq or zope.
        """
        names = [".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
                 for p in sorted(PACKAGE.rglob("*.py"))
                 if p.relative_to(PACKAGE).parts[0] in SANS_IO]
        code = ("import sys\n" + "".join("import {}\n".format(n.removesuffix(".__init__"))
                                         for n in names)
                + "print(sorted({m.split('.')[0] for m in sys.modules} & set(%r)))" % (IO,))
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                cwd=str(PACKAGE.parent), timeout=60)
        self.assertEqual((result.returncode, result.stdout.strip()), (0, "[]"), result.stderr)

    def test_rulesSeeViolations(self) -> None:
        """
        The checker finds an upward import, relative or absolute, and
        Twisted in the core.
        """
        package = Path(self.mktemp()) / "codex_relay"
        for layer in LAYERS:
            (package / layer).mkdir(parents=True)
        (package / "_core" / "bad.py").write_text(
            "from .._web import body\nimport twisted.internet\n")
        (package / "_web" / "bad.py").write_text(
            "def f():\n    from codex_relay._run.service import RelayService\n")
        (package / "_web" / "good.py").write_text("from ..providers import x\n"
                                                 "from codex_relay._core import sse\n")
        self.assertEqual(sorted(violations(package)), [
            "_core/bad.py imports codex_relay._web",
            "_core/bad.py imports codex_relay._web.body",
            "_core/bad.py imports twisted.internet",
            "_web/bad.py imports codex_relay._run.service",
            "_web/bad.py imports codex_relay._run.service.RelayService",
        ])


class TestLayoutTests(SynchronousTestCase):
    def test_testsImportOnlyTheHarness(self) -> None:
        """
        A test module imports what it shares from C{tests.harness}, never
        from another test module.
        """
        tests = PACKAGE.parent / "tests"
        crossed = sorted(
            "{} imports {}".format(path.relative_to(tests), module)
            for path in tests.rglob("test_*.py")
            for module in imports(path, tests.parent / "codex_relay")
            if module.startswith("tests.") and module.split(".")[-1].startswith("test_"))
        self.assertEqual(crossed, [])
