#!/usr/bin/env python3
"""Import circles between the files of different features (issue 16's "Done means").

Reads every `crate::…`, `super::…` and (in the binary's src/cli/) `trailscope::…` path in
src/, resolves each to the file that defines the module it names, and builds the graph of
file → file. A feature is a top-level folder or file of src/ (model, store, server, client,
tui, export, proof, demo, witness, cli, …). It prints:
  - the feature graph and any circle in it (a feature that imports another that imports it);
  - every strongly connected set of files that spans more than one feature.
  - every strongly connected set of files inside a feature kept free of them (STRICT: store,
    whose layering is one domain core and two backends).
Exit 1 when there is any of these. Circles among the files of other features are listed, not
failed.
Usage: python3 tools/import_cycles.py [SRC_DIR]
"""
import os
import re
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "src"
PATH = re.compile(r"\b(crate|super|trailscope)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP = re.compile(r"\buse\s+(crate|super|trailscope)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", re.S)


def module_of(path):
    """src/a/b.rs → ['a', 'b']; src/a/mod.rs → ['a']; src/lib.rs → []."""
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return rel


def file_of(mod):
    for cand in (os.path.join(SRC, *mod) + ".rs", os.path.join(SRC, *mod, "mod.rs")):
        if mod and os.path.isfile(cand):
            return cand
    return None


def resolve(root, segs, here):
    """The file of the longest module prefix of a path written in `here`."""
    if root == "super":
        base = module_of(here)[:-1]
        while segs and segs[0] == "super":
            base, segs = base[:-1], segs[1:]
        mod = base + segs
    else:
        # `crate::` in the library and in the binary (whose root, main.rs, declares `cli`),
        # and the binary's `trailscope::`, all name paths from src/.
        mod = segs
    for n in range(len(mod), 0, -1):
        f = file_of(mod[:n])
        if f:
            return f
    return None


# Features inside which no file may import, through others, a file that imports it.
STRICT = {"store"}


def feature(f):
    rel = os.path.relpath(f, SRC).split(os.sep)
    return rel[0][:-3] if len(rel) == 1 else rel[0]


files = [os.path.join(d, n) for d, _, ns in os.walk(SRC) for n in ns if n.endswith(".rs")]
graph = {f: set() for f in files}
for f in files:
    text = open(f, encoding="utf-8").read()
    text = re.sub(r"//[^\n]*", "", text)
    found = [(m.group(1), m.group(2).split("::")[1:]) for m in PATH.finditer(text)]
    for m in USE_GROUP.finditer(text):
        prefix = m.group(2).split("::")[1:]
        for item in re.split(r"[,\s]+", re.sub(r"\{[^}]*\}", "", m.group(3))):
            item = item.split(" as ")[0].strip()
            if item and item != "self" and re.match(r"^[A-Za-z_]", item):
                found.append((m.group(1), prefix + item.split("::")))
    for root, segs in found:
        t = resolve(root, segs, f)
        if t and t != f:
            graph[f].add(t)

# Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in graph[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))


for v in graph:
    if v not in index:
        visit(v)

features = {}
for f, ts in graph.items():
    for t in ts:
        a, b = feature(f), feature(t)
        if a != b:
            features.setdefault(a, set()).add(b)
print("feature → features it imports:")
for a in sorted(features):
    print(f"  {a}: {', '.join(sorted(features[a]))}")
feature_circles = sorted({tuple(sorted((a, b))) for a in features for b in features[a] if a in features.get(b, ())})
bad = False
for a, b in feature_circles:
    bad = True
    print(f"CIRCLE between features {a} and {b}")
for comp in sccs:
    feats = sorted({feature(f) for f in comp})
    if len(feats) > 1:
        bad = True
        print(f"CIRCLE across features {feats}: {comp}")
    elif feats[0] in STRICT:
        bad = True
        print(f"CIRCLE within {feats[0]}: {comp}")
    else:
        print(f"(within {feats[0]}: {len(comp)} files import each other)")
print("no import circle between features" if not bad else "import circles found")
sys.exit(1 if bad else 0)
