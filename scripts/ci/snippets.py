"""Writes each marked YAML snippet of a Markdown file to DIR/NN-KIND.yml and prints
"KIND PATH" per snippet. A snippet is a ```yaml (or ```yml) block whose first line is the marker
comment `# azleak-snippet: KIND` (github-steps: a list of workflow steps); a YAML block without the marker is an error, so no snippet
goes unchecked.   python3 snippets.py README.md DIR"""
import re
import sys
from pathlib import Path

KINDS = {"github-workflow", "github-steps", "gitlab-ci", "azure-pipelines", "pre-commit-config"}
# A list of steps is checked inside a minimal workflow.
STEPS_WRAPPER = "on: [pull_request]\njobs:\n  snippet:\n    runs-on: ubuntu-latest\n    steps:\n"
MARKER = re.compile(r"^#\s*azleak-snippet:\s*([a-z0-9-]+)\s*$")


def blocks(text):
    lines, info, body, start = text.splitlines(), None, [], 0
    for number, line in enumerate(lines, 1):
        fence = line.lstrip().startswith("```")
        if info is None and fence:
            info, body, start = line.lstrip()[3:].strip(), [], number
        elif info is not None and fence:
            yield info, body, start
            info = None
        elif info is not None:
            body.append(line)
    if info is not None:
        sys.exit(f"snippets: unclosed code block at line {start}")


def main():
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    errors, count = [], 0
    for info, body, start in blocks(source.read_text(encoding="utf-8")):
        if info.split()[:1] not in (["yaml"], ["yml"]):
            continue
        marker = MARKER.match(body[0]) if body else None
        if not marker:
            errors.append(f"{source}:{start}: YAML block without '# azleak-snippet: KIND' marker")
            continue
        kind = marker.group(1)
        if kind not in KINDS:
            errors.append(f"{source}:{start}: unknown snippet kind {kind!r} ({', '.join(sorted(KINDS))})")
            continue
        count += 1
        path = out / f"{count:02d}-{kind}-line{start}.yml"
        text = "\n".join(body) + "\n"
        if kind == "github-steps":
            kind, text = "github-workflow", STEPS_WRAPPER + "".join(f"      {l}\n" for l in body)
        path.write_text(text, encoding="utf-8")
        print(kind, path)
    if errors:
        sys.exit("\n".join(errors))
    if count == 0:
        sys.exit(f"snippets: no marked YAML snippet in {source}")


main()
