"""Write README.md from nbs/index.ipynb.

nbdev 3's `nbdev-readme` renders with Quarto, which can't be installed offline here (PyPI's quarto-cli downloads
its binary when built; Debian has none). This does the same job for our index: markdown cells as they are, code
cells as Python blocks with their results (not printed streams), `#| hide` cells and `#|` directives left out.
"""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def cell_md(cell):
    src = ''.join(cell['source'])
    lines = src.splitlines()
    if any(l.strip().replace(' ', '') in ('#|hide', '#|exporti', '#|export') for l in lines if l.startswith('#|')): return ''
    if cell['cell_type'] == 'markdown': return src.strip() + '\n'
    code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
    out = [f'```python\n{code}\n```\n'] if code else []
    for o in cell.get('outputs', []):  # results only: printed streams (progress bars, logs) stay in the notebook
        text = ''.join(o.get('data', {}).get('text/plain', ''))
        if text.strip(): out.append(f'```\n{text.rstrip()}\n```\n')
    return '\n'.join(out)

def main():
    nb = json.loads((root/'nbs'/'index.ipynb').read_text())
    parts = [cell_md(c) for c in nb['cells']]
    md = '<!-- generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file -->\n\n' + '\n'.join(p for p in parts if p)
    (root/'README.md').write_text(md)
    print('wrote README.md', file=sys.stderr)

if __name__ == '__main__': main()
