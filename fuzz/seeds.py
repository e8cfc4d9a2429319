#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/.

No real secrets: current-format (`xxx8Q~`) secrets are made up here from a fixed random seed,
with a valid checksum computed by the same Marvin32 arithmetic as src/detect/checksum.rs
(checked against Microsoft's published examples before anything is written). Rule files come
from rules/ (test data), config samples from src/config/starter.toml.

Usage: python3 fuzz/seeds.py   (rewrites the corpus directories; deterministic)
"""

import base64
import hashlib
import json
import pathlib
import random
import re
import shutil
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
M32 = 0xFFFFFFFF
SEED = 0x4161_6450_7764_3030  # "AadPwd00"
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890.-_~"
rng = random.Random(7)


def rotl(x, n):
    return ((x << n) | (x >> (32 - n))) & M32


def marvin32(data: bytes, seed: int = SEED) -> int:
    p0, p1 = seed & M32, seed >> 32

    def block(p0, p1):
        p1 ^= p0
        p0 = rotl(p0, 20)
        p0 = (p0 + p1) & M32
        p1 = rotl(p1, 9)
        p1 ^= p0
        p0 = rotl(p0, 27)
        p0 = (p0 + p1) & M32
        p1 = rotl(p1, 19)
        return p0, p1

    whole = len(data) // 4 * 4
    for i in range(0, whole, 4):
        p0 = (p0 + int.from_bytes(data[i : i + 4], "little")) & M32
        p0, p1 = block(p0, p1)
    last = bytearray(4)
    rest = data[whole:]
    last[: len(rest)] = rest
    last[len(rest)] = 0x80
    p0 = (p0 + int.from_bytes(last, "little")) & M32
    p0, p1 = block(p0, p1)
    p0, p1 = block(p0, p1)
    return p0 ^ p1


def checksum(body: str) -> str:
    value = marvin32(body.encode())
    digits = []
    for _ in range(6):
        digits.append(ALPHABET[value % 66])
        value //= 66
    return "".join(reversed(digits))[:3]


def valid(secret: str) -> bool:
    return len(secret) == 40 and checksum(secret[:37]) == secret[37:]


# Microsoft's published examples (not live secrets) validate, so the arithmetic is right.
for example in ["zzz8Q~zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzblP", "riG8Q~p-69WAm.dX4a6IDnOdcdbWB3dC5-DSDciR"]:  # azleak:allow
    assert valid(example), example

SECRET_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_~.-"


def synthetic(marker: str = "8Q~") -> str:
    """A made-up current-format secret with a valid checksum."""
    hint = "".join(rng.choice(SECRET_CHARS[:62]) for _ in range(3))
    body = hint + marker + "".join(rng.choice(SECRET_CHARS) for _ in range(31))
    secret = body + checksum(body)
    assert valid(secret)
    return secret


def write(target: str, name: str, data) -> None:
    if isinstance(data, str):
        data = data.encode()
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(data).hexdigest()[:12]
    (directory / f"{name}-{digest}").write_bytes(data)


def detect_seeds() -> None:
    s = [synthetic() for _ in range(4)]
    legacy = "".join(rng.choice(SECRET_CHARS + "[]*?=:") for _ in range(32))
    pct = urllib.parse.quote(s[0], safe="")
    json_escaped = s[1].replace("~", "\\u007e")
    b64 = base64.b64encode(s[2].encode()).decode()
    b64_json = base64.b64encode(json.dumps({"clientSecret": s[3]}).encode()).decode()
    samples = {
        "plain": s[0],
        "env": f"AZURE_CLIENT_SECRET={s[0]}\n",
        "crlf": f"AZURE_CLIENT_ID=x\r\nAZURE_CLIENT_SECRET={s[1]}\r\n",
        "json": json.dumps({"ClientSecret": s[2], "TenantId": "t"}),
        "xml": f'<add key="ida:ClientSecret" value="{s[3]}" />\n',
        "percent": f"GET /token?client_secret={pct}&scope=x\n",
        "percent-lower": f"client_secret={pct.replace('%7E', '%7e')}\n",
        "json-escape": '{"msg": "secret ' + json_escaped + '"}\n',
        "json-escape-upper": '{"k": "' + s[1].replace("~", "\\u007E") + '"}',
        "base64": f"  AZURE_CLIENT_SECRET: {b64}\n",
        "base64-json": f"CREDS_B64={b64_json}\n",
        "concat-plus": f'const secret = "{s[0][:18]}" + "{s[0][18:]}";\n',
        "concat-amp": f"var s = '{s[1][:3]}' & '{s[1][3:30]}' &\n    '{s[1][30:]}'\n",
        "concat-dot": f'$s = "{s[2][:20]}" . "{s[2][20:]}";\n',
        "concat-lua": f'local s = "{s[3][:10]}" .. "{s[3][10:]}"\n',
        "legacy": f'client_secret = "{legacy}"\n',
        "az-login": f"az login --service-principal -u app -p {legacy} --tenant t\n",
        "powershell": f'$secret = ConvertTo-SecureString "{legacy}" -AsPlainText -Force\n',
        "bad-checksum": s[0][:37] + ("aaa" if s[0][37:] != "aaa" else "bbb"),
        "seven-q": synthetic("7Q~")[:37],
        "two-per-line": f"a={s[0]} b={s[1]}\n",
        "allow-inline": f"k={s[0]} # azleak:allow\n",
        "invalid-utf8": b"k=\xff\xfe" + s[0].encode() + b"\xc3\n",
        "nul": b"\x00" + s[1].encode(),
        "multiline-unicode": "é\n\u00e9\u4e2d " + s[2] + "\n",
        "utf16le": ("\ufeffAZURE_CLIENT_SECRET=" + s[3] + "\r\n").encode("utf-16-le"),
        "empty": "",
    }
    for name, data in samples.items():
        write("detect", name, data)
    # Rule examples (test data of the repository).
    rules = (ROOT / "rules" / "azure-client-secret.toml").read_text()
    for i, example in enumerate(re.findall(r'^\s+"([^"\n]{8,})",$', rules, re.M)):
        write("detect", f"rule-example-{i}", example)


def detect_time_seeds() -> None:
    s = synthetic()

    def seed(copies: int, unit, prefix=b"", suffix=b"") -> bytes:
        unit = unit.encode() if isinstance(unit, str) else unit
        prefix = prefix.encode() if isinstance(prefix, str) else prefix
        suffix = suffix.encode() if isinstance(suffix, str) else suffix
        return copies.to_bytes(3, "little") + prefix + b"\xff" + unit + b"\xff" + suffix

    b64_unit = base64.b64encode(b"8Q~" * 3).decode()
    literal = '"' + "".join(rng.choice(SECRET_CHARS[:62]) for _ in range(64)) + '" + '
    samples = {
        "percent": seed(300_000, "%7E", "client_secret="),
        "percent-lower": seed(300_000, "%7e"),
        "json-escape": seed(150_000, "\\u007e", '{"k":"'),
        "base64-markers": seed(100_000, b64_unit, "data: "),
        "literals": seed(20_000, literal, "s = "),
        "markers": seed(300_000, "8Q~"),
        "markers-7q": seed(300_000, "7Q~ "),
        "secrets": seed(20_000, s + "\n"),
        "secret-long-line": seed(20_000, s + " "),
        "keyword-secret": seed(100_000, "secret=", "", "x" * 40),
        "quotes": seed(500_000, "'"),
        "newlines": seed(1_000_000, "\n"),
        "no-repeat": seed(0, "", f"client_secret={s}"),
    }
    for name, data in samples.items():
        write("detect_time", name, data)


def rules_seeds() -> None:
    text = (ROOT / "rules" / "azure-client-secret.toml").read_text()
    write("rules_parse", "builtin", text)
    blocks = text.split("[[rules]]")
    for i, block in enumerate(blocks[1:]):
        write("rules_parse", f"builtin-rule-{i}", "[[rules]]" + block)
    minimal = """[[rules]]
id = "custom.token"
name = "Custom token"
description = "A token."
keywords = ["tok_"]
pattern = 'tok_([a-z0-9]{16})'
confidence = "medium"
remediation = "Rotate it."
examples = ["x = tok_0123456789abcdef"]
negative_examples = ["tok_short"]
"""
    write("rules_parse", "minimal", minimal)
    write("rules_parse", "named-group", minimal.replace("tok_([a-z0-9]{16})", "(?P<secret>tok_[a-z0-9]{16})(x)?"))
    write("rules_parse", "two-groups", minimal.replace("tok_([a-z0-9]{16})", "(tok)_([a-z0-9]{16})"))
    write("rules_parse", "bad-regex", minimal.replace("tok_([a-z0-9]{16})", "tok_([a-z"))
    write("rules_parse", "bad-id", minimal.replace('"custom.token"', '"Custom Token"'))
    write("rules_parse", "checksum", minimal.replace('confidence = "medium"', 'confidence = "high"\nchecksum = "entra-client-secret"\nweak_confidence = "low"\nwindow = 1\nmin_entropy = 3.5\nmin_char_classes = 3\nreject_placeholders = true\nexclude_secrets = ["^0123"]'))
    write("rules_parse", "duplicate", minimal + minimal)
    write("rules_parse", "unknown-field", minimal + 'colour = "red"\n')


def config_seeds() -> None:
    starter = (ROOT / "src" / "config" / "starter.toml").read_text()
    write("config_parse", "starter", starter)
    uncommented = re.sub(r"^# (\w[\w-]* = .*)$", r"\1", starter, flags=re.M)
    write("config_parse", "starter-uncommented", uncommented)
    samples = {
        "full": """rules = ["rules/", "extra.toml"]
disable-rules = ["azure.entra.client-secret.loose"]
min-confidence = "low"
max-file-size = "64K"
scan-hidden = false

[allowlist]
paths = ["tests/fixtures/**", "!keep.md", "docs/*.env"]
secrets = ["ourDocumentedFakeClientSecretValue"]
secret-regexes = ["^fake", "EXAMPLE$"]
stopwords = ["dummy", "testonly"]
""",
        "size-number": "max-file-size = 1048576\n",
        "size-negative": "max-file-size = -1\n",
        "size-bad": 'max-file-size = "12Q"\n',
        "confidence-bad": 'min-confidence = "abcdefghijklmnopq"\n',
        "unknown-key": 'min-entorpy = 4\n',
        "bad-glob": '[allowlist]\npaths = ["x["]\n',
        "bad-regex": '[allowlist]\nsecret-regexes = ["(unclosed"]\n',
        "bad-type": '[allowlist]\nstopwords = "dummy"\n',
        "hidden-bad": 'scan-hidden = "abcdefghijklmnop"\n',
        "not-toml": "this is = = not toml\n[",
        "inline-table": 'allowlist = { paths = ["a/**"], secrets = [] }\n',
    }
    for name, text in samples.items():
        write("config_parse", name, text)


def baseline_seeds() -> None:
    def entry(i: int) -> dict:
        return {
            "fingerprint": hashlib.sha256(f"entry-{i}".encode()).hexdigest()[:32],
            "rule_id": "azure.entra.client-secret",
            "path": f"src/config-{i}.env",
            "hint": "abc…",
            "first_seen": "2024-01-02",
        }

    good = {"version": 1, "tool": "azleak", "entries": [entry(i) for i in range(3)]}
    write("baseline_parse", "good", json.dumps(good, indent=2, ensure_ascii=False) + "\n")
    write("baseline_parse", "empty-entries", json.dumps({"version": 1, "tool": "azleak", "entries": []}))
    write("baseline_parse", "version-2", json.dumps({"version": 2, "tool": "azleak", "entries": []}))
    bad_fp = dict(good, entries=[dict(entry(0), fingerprint="abcdefghijklmnopqrstuvwxyz012345")])
    write("baseline_parse", "bad-fingerprint", json.dumps(bad_fp, indent=2))
    dup = dict(good, entries=[entry(0), entry(0)])
    write("baseline_parse", "duplicate", json.dumps(dup, indent=2))
    extra = dict(good, entries=[dict(entry(0), secret="abcdefghijklmnopqrstuvwx")])
    write("baseline_parse", "unknown-key", json.dumps(extra, indent=2))
    write("baseline_parse", "not-json", "{version: 1,")
    write("baseline_parse", "array", "[1, 2, 3]")


def report_seeds() -> None:
    # Raw bytes for `arbitrary`: any bytes are a valid input; these give long strings with
    # control characters, quotes and URI-like paths to start from.
    samples = {
        "newline-path": b"a\nfake.txt:1:1: x (high) secret FAKE\nb\x00" + synthetic().encode() + b"\x01\x01\x01",
        "escape": b"\x1b[31mred\x1b[0m\x00\x1b]8;;http://x\x07link\x00secretvalue123\x01" * 2,
        "javascript": b"javascript:alert(1)\x00" + synthetic().encode() + b"\x01" * 8,
        "crlf": b"a\r\nb\r\n\x00\r\x00\x85\x9b\x00zzzzzzzzzzzz\x01\x01",
    }
    for name, data in samples.items():
        write("report_escape", name, data)


def main() -> None:
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    detect_seeds()
    detect_time_seeds()
    rules_seeds()
    config_seeds()
    baseline_seeds()
    report_seeds()
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    count = sum(1 for p in CORPUS.rglob("*") if p.is_file())
    assert total < 2_000_000, total
    print(f"wrote {count} seeds, {total} bytes, under {CORPUS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
