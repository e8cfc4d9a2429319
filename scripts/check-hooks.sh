#!/usr/bin/env bash
# The hooks of .pre-commit-hooks.yaml, exercised with the real pre-commit framework (PyPI,
# installed into target/ci-tools): installed from a local clone of this repository at HEAD
# (pre-commit builds azleak with cargo), they block a staged secret (azleak), catch a committed
# one with --all-files (azleak-files) and block a push of a commit adding one (azleak-push).
# Then measures a hook run on a one-file change (target <= 0.3 s).
#   scripts/check-hooks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ci/tools.sh
need_py pre-commit
export PRE_COMMIT_HOME="$CI_TOOLS/pre-commit-home"
# pre-commit's `cargo install` reuses this build's dependencies.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
pc="$PY_BIN/pre-commit"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "check-hooks: FAIL $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
secret='zzz8Q~zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzblP' # azleak:allow (made-up test value)

# The hook repository: a clone of this one at HEAD (what `repo:` + `rev:` point at).
git clone -q --no-local "$PWD" "$work/azleak"
rev="$(git -C "$work/azleak" rev-parse HEAD)"
if ! git diff --quiet HEAD -- .pre-commit-hooks.yaml 2>/dev/null; then
  echo "check-hooks: note: .pre-commit-hooks.yaml has uncommitted changes; HEAD's is checked"
fi

repo="$work/project"
git init -q -b main "$repo"
cd "$repo"
git config user.name "CI" && git config user.email ci@example.com
cat > .pre-commit-config.yaml <<YAML
repos:
  - repo: $work/azleak
    rev: $rev
    hooks:
      - id: azleak
      - id: azleak-files
      - id: azleak-push
YAML
"$pc" install --hook-type pre-commit --hook-type pre-push >/dev/null
echo "check-hooks: installing the hooks (pre-commit builds azleak with cargo; slow only once per rev)"
"$pc" install-hooks
echo "hello" > README
git add -A
git commit -q -m "clean start" || fail "a clean commit was refused"
ok "a clean commit passes"

git init -q --bare "$work/remote.git"
git remote add origin "$work/remote.git"
git push -q origin main 2>"$work/push0.log" || { cat "$work/push0.log"; fail "a clean push was refused"; }
ok "a clean push passes"

# 1. A staged secret blocks the commit.
printf 'AZURE_CLIENT_SECRET=%s\n' "$secret" > app.env
git add app.env
if git commit -q -m "add secret" >"$work/commit.log" 2>&1; then cat "$work/commit.log"; fail "a staged secret was committed"; fi
grep -q "azure.entra.client-secret" "$work/commit.log" || { cat "$work/commit.log"; fail "the hook did not name the rule"; }
grep -q "$secret" "$work/commit.log" && fail "the hook printed the secret"
ok "a staged secret blocks the commit (and is not printed)"

# 2. Committed anyway (--no-verify): the push is blocked.
git commit -q --no-verify -m "add secret"
if git push -q origin main >"$work/push.log" 2>&1; then cat "$work/push.log"; fail "a commit adding a secret was pushed"; fi
grep -q "app.env" "$work/push.log" || { cat "$work/push.log"; fail "the pre-push hook did not name the file"; }
ok "a push of a commit adding a secret is blocked"

# 3. The committed secret is caught by --all-files (the staged hook alone would pass).
if "$pc" run --all-files >"$work/all.log" 2>&1; then cat "$work/all.log"; fail "--all-files passed on a committed secret"; fi
grep -q "app.env:1:21" "$work/all.log" || { cat "$work/all.log"; fail "--all-files did not report app.env:1:21"; }
ok "pre-commit run --all-files catches the committed secret"

# 4. Timing on a one-file change (median of 7): the hook through pre-commit, and azleak alone.
git rm -q --cached app.env && rm app.env && git commit -q --no-verify -m "remove secret"
echo "change" >> README && git add README
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_of() { # runs "$@" 7 times; prints the median wall seconds
  local walls=() i t0 t1
  for i in 1 2 3 4 5 6 7; do
    t0="$(date +%s.%N)"
    "$@" >/dev/null 2>&1 || true
    t1="$(date +%s.%N)"
    walls+=("$(echo "$t1 - $t0" | bc | awk '{printf "%.3f", $1}')")
  done
  printf '%s\n' "${walls[@]}" | median
}
TIMEFORMAT='%R %U %S'
# user+sys CPU seconds of one run
cpu_of() { { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{printf "%.3f", $2+$3}'; }
hook_wall="$(time_of "$pc" run azleak)"
hook_cpu="$(cpu_of "$pc" run azleak)"
azleak_bin="$(find "$PRE_COMMIT_HOME" -path '*rustenv*/bin/azleak' -type f | head -n 1)"
[ -x "$azleak_bin" ] || fail "no azleak built by pre-commit under $PRE_COMMIT_HOME"
bare_wall="$(time_of "$azleak_bin" git --staged --quiet)"
bare_cpu="$(cpu_of "$azleak_bin" git --staged --quiet)"
echo "check-hooks: one-file change, median of 7 ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)):"
echo "  pre-commit run azleak       ${hook_wall} s wall, ${hook_cpu} s CPU (target <= 0.3 s)"
echo "  azleak git --staged alone   ${bare_wall} s wall, ${bare_cpu} s CPU"
echo "check-hooks: all passed"
