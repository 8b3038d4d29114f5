#!/usr/bin/env python3
"""An independent verifier of trailscope exports, written from docs/verifying.md alone.

    python3 tools/verify_export.py FILE [PROOF]

FILE is a CSV, JSON, NDJSON or OCSF export, as downloaded (a `proof=trailer` file carries its
proof at its end; a JSON export embeds it; otherwise PROOF or FILE.proof.json). Standard library
only. It checks everything but the checkpoint's Ed25519 signature: the entry hashes (canonical
form, commitments), the chain, and the RFC 6962 range proof up to the root the checkpoint
states. Check the signature with `trailscope verify-file --key` or any C2SP signed-note verifier.
Exit 0 and `ok: ...` when the file holds; exit 1 and one line naming the problem otherwise.
"""

import base64
import csv
import hashlib
import io
import json
import os
import re
import sys

TRAILER_TAG = b"trailscope-proof "
FOOTER_LEN = 1 + len(TRAILER_TAG) + 16 + 1
CSV_COLUMNS = [
    "id", "seq", "occurred_at", "received_at", "channel", "action", "kind", "outcome",
    "description", "actor_type", "actor_id", "actor_name", "actor_email", "actor_ip",
    "target_type", "target_id", "target_name", "details", "hash",
]
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PSEUDONYM = re.compile(r"^pseudonym-[0-9a-f]{8}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


class Fail(Exception):
    pass


class Num(str):
    """A JSON number kept as the text it was written as."""


def loads(text):
    """JSON with numbers kept as their text; duplicate keys refused."""

    def pairs(items):
        out = {}
        for k, v in items:
            if k in out:
                raise Fail(f"duplicate key {k!r}")
            out[k] = v
        return out

    def constant(name):
        raise Fail(f"{name} is not JSON")

    return json.loads(text, parse_int=Num, parse_float=Num, object_pairs_hook=pairs,
                      parse_constant=constant)


def jstr(s):
    """A string as the canonical form escapes it (section "Strings")."""
    return json.dumps(s, ensure_ascii=False)


def canonical_json(v):
    """Details in the canonical spelling: sorted keys, no whitespace, numbers as written."""
    if isinstance(v, Num):
        return str(v)
    if isinstance(v, str):
        return jstr(v)
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, list):
        return "[" + ",".join(canonical_json(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-8"))
        return "{" + ",".join(jstr(k) + ":" + canonical_json(v[k]) for k in keys) + "}"
    raise Fail("details holds a value JSON does not have")


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def want_str(v, what):
    if not isinstance(v, str) or isinstance(v, Num):
        raise Fail(f"{what} is not a string")
    return v


def canonical_bytes(e, commitments):
    """Section "The canonical form": the entry without `hash`, personal fields as commitments."""
    a = e["actor"]
    actor = []
    for key in ["email", "id", "ip", "name", "type", "user_agent"]:
        if key not in a:
            continue
        if key in ("email", "ip", "name", "user_agent"):
            actor.append(jstr(key) + ":" + jstr(commitments[key]))
        else:
            actor.append(jstr(key) + ":" + jstr(want_str(a[key], f"actor.{key}")))
    members = [("action", jstr(e["action"])), ("actor", "{" + ",".join(actor) + "}"),
               ("channel", jstr(e["channel"]))]
    if e.get("description") is not None:
        members.append(("description", jstr(e["description"])))
    if e.get("details") is not None:
        members.append(("details", e["details"]))
    members.append(("id", jstr(e["id"])))
    if e.get("idempotency_key") is not None:
        members.append(("idempotency_key", jstr(e["idempotency_key"])))
    for key in ["kind", "occurred_at", "outcome", "prev_hash", "received_at"]:
        members.append((key, jstr(want_str(e[key], key))))
    members.append(("seq", str(e["seq"])))
    t = e.get("target")
    if t is not None:
        inner = [jstr("id") + ":" + jstr(t["id"])]
        if t.get("name") is not None:
            inner.append(jstr("name") + ":" + jstr(t["name"]))
        inner.append(jstr("type") + ":" + jstr(t["type"]))
        members.append(("target", "{" + ",".join(inner) + "}"))
    members.append(("tenant", jstr(e["tenant"])))
    return ("{" + ",".join(jstr(k) + ":" + v for k, v in members) + "}").encode("utf-8")


def read_cell(cell):
    """Section "CSV": an empty cell is absent; otherwise one leading `'` is dropped."""
    if cell == "":
        return None
    return cell[1:] if cell.startswith("'") else cell


def csv_entries(text):
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or rows[0] != CSV_COLUMNS:
        raise Fail("the CSV header is not trailscope's")
    out = []
    for n, row in enumerate(rows[1:], 2):
        if len(row) != len(CSV_COLUMNS):
            raise Fail(f"line {n} does not have the export's columns")
        c = dict(zip(CSV_COLUMNS, row))
        if not re.fullmatch(r"0|[1-9][0-9]*", c["seq"]):
            raise Fail(f"line {n}: seq is not a number")
        e = {"id": read_cell(c["id"]), "seq": int(c["seq"]), "occurred_at": c["occurred_at"],
             "received_at": c["received_at"], "channel": read_cell(c["channel"]),
             "action": read_cell(c["action"]), "kind": c["kind"], "outcome": c["outcome"],
             "actor": {"type": c["actor_type"]}, "hash": c["hash"]}
        for field in ["id", "channel", "action"]:
            if e[field] is None:
                raise Fail(f"line {n}: {field} is empty")
        if read_cell(c["description"]) is not None:
            e["description"] = read_cell(c["description"])
        for col, key in [("actor_id", "id"), ("actor_name", "name"), ("actor_email", "email"),
                         ("actor_ip", "ip")]:
            if read_cell(c[col]) is not None:
                e["actor"][key] = read_cell(c[col])
        tt, ti, tn = (read_cell(c["target_type"]), read_cell(c["target_id"]),
                      read_cell(c["target_name"]))
        if tt is not None and ti is not None:
            e["target"] = {"type": tt, "id": ti}
            if tn is not None:
                e["target"]["name"] = tn
        elif (tt, ti, tn) != (None, None, None):
            raise Fail(f"line {n}: its target is incomplete")
        d = read_cell(c["details"])
        if d is not None:
            # Shown as stored: it must already be in the canonical spelling.
            if canonical_json(loads(d)) != d:
                raise Fail(f"line {n}: details is not in the canonical spelling")
            e["details"] = d
        out.append((f"line {n}", e))
    return out


def json_entry(obj):
    """An entry object of a JSON, NDJSON or OCSF file; details back to canonical text."""
    if not isinstance(obj, dict):
        raise Fail("an entry is not an object")
    e = dict(obj)
    if not isinstance(e.get("seq"), Num) or not re.fullmatch(r"0|[1-9][0-9]*", e["seq"]):
        raise Fail("an entry's seq is not a whole number")
    e["seq"] = int(e["seq"])
    if e.get("details") is not None:
        e["details"] = canonical_json(e["details"])
    return e


def split_trailer(data):
    if len(data) < FOOTER_LEN:
        return data, None
    footer = data[-FOOTER_LEN:]
    if not (footer.startswith(b"\n" + TRAILER_TAG) and footer.endswith(b"\n")):
        return data, None
    digits = footer[1 + len(TRAILER_TAG):-1]
    if not re.fullmatch(rb"[0-9a-f]{16}", digits):
        return data, None
    n = int(digits, 16)
    start = len(data) - FOOTER_LEN - n
    if start < 0 or data[start:start + 1] != b"{":
        return data, None
    return data[:start], data[start:len(data) - FOOTER_LEN]


def read_export(data, path, proof_path):
    data, trailer = split_trailer(data)
    text = data.decode("utf-8")
    body = text[1:] if text.startswith("\ufeff") else text
    proof = None
    if body.startswith("id,seq,"):
        fmt, entries = "csv", csv_entries(body)
    else:
        try:
            doc = loads(body)
        except (ValueError, Fail):
            doc = None
        if isinstance(doc, dict) and "entries" in doc:
            fmt = "json"
            entries = [(f"entry {i}", json_entry(e)) for i, e in enumerate(doc["entries"], 1)]
            if "checkpoint" in doc or "proof" in doc:
                proof = {"checkpoint": doc.get("checkpoint"), "proof": doc.get("proof")}
        else:
            lines = [(n, l) for n, l in enumerate(body.split("\n"), 1) if l.strip()]
            first = loads(lines[0][1]) if lines else {}
            fmt = "ocsf" if "unmapped" in first and "class_uid" in first else "ndjson"
            entries = []
            for n, line in lines:
                obj = loads(line)
                entries.append((f"line {n}", json_entry(obj["unmapped"] if fmt == "ocsf" else obj)))
    if proof is None:
        if trailer is not None:
            proof = loads(trailer.decode("utf-8"))
        else:
            side = proof_path or path + ".proof.json"
            if not os.path.exists(side):
                raise Fail(f"no proof: {side} is missing")
            with open(side, "rb") as f:
                proof = loads(f.read().decode("utf-8"))
    return fmt, entries, proof


def split_point(n):
    """The largest power of two smaller than n (RFC 6962)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def node(left, right):
    return sha256(b"\x01", left, right)


def range_root(size, lo, leaves, proof):
    """Section "Range proofs": the root from leaves [lo, lo+len) and the subtree hashes."""
    hi = lo + len(leaves)
    if not (lo < hi <= size):
        raise Fail("the proof's range does not fit its checkpoint")
    it = iter(proof)

    def rebuild(a, b):
        if b <= lo or a >= hi:
            h = next(it, None)
            if h is None:
                raise Fail("the range proof is too short")
            return h
        if b - a == 1:
            return leaves[a - lo]
        k = split_point(b - a)
        left = rebuild(a, a + k)
        return node(left, rebuild(a + k, b))

    root = rebuild(0, size)
    if next(it, None) is not None:
        raise Fail("the range proof is too long")
    return root


def parse_note(note):
    """Section "Checkpoints": origin, size, root; the signature is not checked here."""
    text, sep, sigs = note.partition("\n\n")
    lines = text.split("\n")
    if not sep or len(lines) < 3 or not re.fullmatch(r"[1-9][0-9]*|0", lines[1]):
        raise Fail("the checkpoint is malformed")
    if not sigs.startswith("\u2014 "):
        raise Fail("the checkpoint has no signature line")
    return lines[0], int(lines[1]), b64(lines[2], 32)


def b64(s, length=None):
    try:
        raw = base64.b64decode(s, validate=True)
    except (ValueError, TypeError):
        raise Fail("a base64 value is malformed")
    if base64.b64encode(raw).decode() != s or (length is not None and len(raw) != length):
        raise Fail("a base64 value is malformed")
    return raw


def verify(path, proof_path=None):
    with open(path, "rb") as f:
        fmt, entries, pf = read_export(f.read(), path, proof_path)
    cp, p = pf.get("checkpoint"), pf.get("proof")
    if not isinstance(cp, dict) or not isinstance(p, dict):
        raise Fail("the proof needs `checkpoint` and `proof`")
    if str(p.get("version")) != "1" or p.get("format") != fmt:
        raise Fail(f"the proof is not a version 1 proof for a {fmt} export")
    origin, size, root = parse_note(cp["checkpoint"])
    if int(cp["size"]) != size or b64(cp["root"], 32) != root:
        raise Fail("the proof's size or root is not its note's")
    tenant = p["tenant"]
    if origin != "trailscope/" + tenant:
        raise Fail("the checkpoint is of another log")
    items = {int(i["seq"]): i for i in p.get("items", [])}
    if len(items) != len(p.get("items", [])) or int(p["entries"]) != len(items):
        raise Fail("the proof's list of entries is malformed")
    seen = [e["seq"] for _, e in entries]
    if sorted(seen) != sorted(items) or len(set(seen)) != len(seen):
        raise Fail("the file's entries are not the proof's")
    if not entries:
        return f"ok: 0 entries of tenant {tenant} (checkpoint {size}; signature not checked)"
    first, last = int(p["first_seq"]), int(p["last_seq"])
    hashes = b64(p["hashes"])
    if len(hashes) != (last - first + 1) * 32:
        raise Fail("the proof does not hold one hash per seq")
    at = lambda s: hashes[(s - first) * 32:(s - first + 1) * 32].hex()
    for place, e in entries:
        seq = e["seq"]
        if not first <= seq <= last:
            raise Fail(f"{place} lies outside the proof's range")
        item = items[seq]
        prev = p["prev_hash"] if seq == first else at(seq - 1)
        if fmt == "csv":
            e["tenant"], e["prev_hash"] = tenant, prev
            if item.get("idempotency_key") is not None:
                e["idempotency_key"] = item["idempotency_key"]
        for key in ["occurred_at", "received_at"]:
            if not TS.match(e.get(key) or ""):
                raise Fail(f"{place}: {key} is not a timestamp in the canonical form")
        if e.get("tenant") != tenant or e.get("prev_hash") != prev or e.get("hash") != at(seq):
            raise Fail(f"{place} (seq {seq}) does not match its proof: tenant, prev_hash or hash")
        personal = item.get("personal", {})
        commitments = {}
        a = e["actor"]
        for field in ["name", "email", "ip", "user_agent"]:
            shown = field in a and a[field] is not None
            hidden = fmt == "csv" and field == "user_agent"
            fp = personal.get(field)
            if fp is None:
                if shown:
                    raise Fail(f"{place}: actor {field} has no commitment")
                continue
            if "s" in fp and "c" not in fp and shown:
                commitments[field] = sha256(bytes.fromhex(fp["s"]), a[field].encode()).hex()
            elif "c" in fp and "s" not in fp and HEX64.match(fp["c"]) and (
                    hidden or (shown and PSEUDONYM.match(a[field]))):
                commitments[field] = fp["c"]
                if hidden:
                    a[field] = ""
            else:
                raise Fail(f"{place}: actor {field} does not match its commitment")
        got = sha256(bytes.fromhex(prev), canonical_bytes(e, commitments)).hex()
        if got != at(seq):
            raise Fail(f"{place} (seq {seq}) does not match its proof: its content was changed")
    leaves = [sha256(b"\x00", hashes[i:i + 32]) for i in range(0, len(hashes), 32)]
    proof_hashes = [b64(h, 32) for h in p.get("range_proof", [])]
    if range_root(size, int(p["first_leaf"]), leaves, proof_hashes) != root:
        raise Fail("the proof's hashes do not lead to the checkpoint's root")
    return (f"ok: {len(entries)} entries (seqs {first} to {last}) of tenant {tenant} lead to "
            f"the root of checkpoint {size} (signature not checked)")


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        print(verify(argv[1], argv[2] if len(argv) == 3 else None))
        return 0
    except (Fail, KeyError, ValueError, TypeError, AttributeError, IndexError) as e:
        print(f"{argv[1]}: does not verify: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
