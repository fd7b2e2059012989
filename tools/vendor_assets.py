"""Copy the pinned MathJax and mermaid files from node_modules into _vendor/.

`npm ci` installs exactly the versions in package-lock.json; this script copies the
few files the site needs (about 5 MB) into `_vendor/`, which Sphinx serves as static
files (`html_static_path`). `_vendor/` is generated and git-ignored.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "node_modules"
VENDOR = ROOT / "_vendor"

# (source relative to node_modules, destination relative to _vendor)
COPIES = [
    ("mathjax/es5/tex-mml-chtml.js", "mathjax/tex-mml-chtml.js"),
    ("mathjax/es5/output/chtml/fonts/woff-v2", "mathjax/output/chtml/fonts/woff-v2"),
    ("mathjax/es5/input/tex/extensions", "mathjax/input/tex/extensions"),
    ("mathjax/LICENSE", "mathjax/LICENSE"),
    ("mermaid/dist/mermaid.esm.min.mjs", "mermaid/mermaid.esm.min.mjs"),
    ("mermaid/dist/chunks/mermaid.esm.min", "mermaid/chunks/mermaid.esm.min"),
    ("mermaid/LICENSE", "mermaid/LICENSE"),
]


def _ignore_maps(_folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n.endswith(".map")]


def main() -> int:
    missing = [src for src, _ in COPIES if not (MODULES / src).exists()]
    if missing:
        print(f"vendor_assets: missing {missing[0]} in node_modules: run `npm ci` first",
              file=sys.stderr)
        return 1
    staging = VENDOR.with_name("_vendor.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    for src, dest in COPIES:
        source, target = MODULES / src, staging / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=_ignore_maps)
        else:
            shutil.copy2(source, target)
    shutil.rmtree(VENDOR, ignore_errors=True)
    staging.rename(VENDOR)
    size = sum(p.stat().st_size for p in VENDOR.rglob("*") if p.is_file())
    print(f"vendor_assets: {size / 1e6:.1f} MB of MathJax and mermaid in {VENDOR.name}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
