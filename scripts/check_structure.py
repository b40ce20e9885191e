"""Architecture rules import-linter cannot express (STYLE §3, §4.1-4.2).

1. No module in app/ exceeds 500 lines (ALLOWED_LONG lists justified exceptions).
2. Statement builders (select/insert/update/delete/text) are used only in */repository.py and
   app/db/: services say what they need, repositories say how to get it.
3. pandera is imported only by app/validation/engine.py: the engine sits behind a small
   interface, so a faster implementation can replace it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_LINES = 500
ALLOWED_LONG: dict[str, str] = {}
BUILDERS = {"select", "insert", "update", "delete", "text", "tuple_"}
PANDERA_HOME = ("app", "validation", "engine.py")


def sql_allowed(path: Path) -> bool:
    return path.name == "repository.py" or path.parts[:2] == ("app", "db")


def problems(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent)
        lines = path.read_text().count("\n")
        if lines > MAX_LINES and str(rel) not in ALLOWED_LONG:
            found.append(f"{rel}: {lines} lines (cap {MAX_LINES}); split it into a package")
        tree = ast.parse(path.read_text(), str(rel))
        if rel.parts != PANDERA_HOME:
            found += [
                f"{rel}:{line}: imports pandera outside {'/'.join(PANDERA_HOME)}"
                for line in _imports_of(tree, "pandera")
            ]
        if sql_allowed(rel):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                used = BUILDERS & {alias.name for alias in node.names}
                if used:
                    found.append(
                        f"{rel}:{node.lineno}: imports {', '.join(sorted(used))} "
                        "outside a repository"
                    )
    return found


def _imports_of(tree: ast.AST, package: str) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        if any(n == package or n.startswith(package + ".") for n in names):
            lines.append(node.lineno)
    return lines


if __name__ == "__main__":
    issues = problems(Path(__file__).resolve().parents[1] / "app")
    for issue in issues:
        print(issue)
    print(f"structure: {len(issues)} problem(s)")
    sys.exit(1 if issues else 0)
