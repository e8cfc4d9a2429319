#!/usr/bin/env bash
# Headless-browser check of `--format html` (run by .ci/run; kept out of `cargo test` because it
# needs Chromium): renders the report of a known scan and asserts its rows, that filtering by rule
# hides the others and that the page makes no network request; saves a screenshot under target/;
# measures open + filter time of a 10,000-finding report.
#   scripts/check-html.sh [AZLEAK_BINARY]
# Needs chromium (Debian's package) and node/npm; installs puppeteer-core into
# target/ci-tools/npm (driving the system chromium, downloading no browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "${1:-target/release/azleak}")"
[ -x "$bin" ] || { echo "check-html: no azleak binary at $bin (build it first)" >&2; exit 1; }
chromium="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[ -n "$chromium" ] || { echo "check-html: chromium is not installed (apt-get install chromium)" >&2; exit 1; }

source scripts/ci/tools.sh
need_npm puppeteer-core@25
tools="$NPM_DIR"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
secret8q='zzz8Q~zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzblP' # azleak:allow (made-up test value)
legacy='vkSikIWXgwvaeHts.swmrso[P*0JaYSw' # azleak:allow (made-up test value)

# The known scan: a history of 3 commits by 2 authors in 2 months adding 3 secrets of 2 rules,
# one under an XSS-ish directory name.
known="$work/known"
mkdir -p "$known/<img src=x onerror=alert(1)>" "$known/conf"
commit() { # AUTHOR DATE MESSAGE
  git -C "$known" add -A
  GIT_AUTHOR_NAME="$1" GIT_AUTHOR_EMAIL="$(echo "$1" | tr 'A-Z ' 'a-z.')@example.com" \
    GIT_AUTHOR_DATE="$2" GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com \
    GIT_COMMITTER_DATE="$2" git -C "$known" commit -q -m "$3"
}
git init -q "$known"
printf 'AZURE_CLIENT_SECRET=%s\n' "$secret8q" > "$known/<img src=x onerror=alert(1)>/app.env"
commit "Alice Example" "2024-01-10T10:00:00+01:00" "add app config"
printf 'AZURE_CLIENT_SECRET=%s\n' "$secret8q" > "$known/conf/prod.env"
commit "Bob Builder" "2024-03-02T09:30:00+01:00" "add <b>prod</b> config"
printf 'AZURE_CLIENT_SECRET="%s"\n' "$legacy" > "$known/legacy.env"
commit "Bob Builder" "2024-03-20T16:00:00+01:00" "legacy"
"$bin" git --no-config --format html -o "$work/known.html" "$known" || [ $? -eq 1 ]

# 10,000 findings: 100 files of 100 lines, every fourth file with the legacy secret.
big="$work/big"
for d in $(seq 0 99); do
  mkdir -p "$big/dir-$d"
  if [ $((d % 4)) -eq 0 ]; then line="AZURE_CLIENT_SECRET=\"$legacy\""; else line="AZURE_CLIENT_SECRET=$secret8q"; fi
  for _ in $(seq 100); do printf '%s\n' "$line"; done > "$big/dir-$d/app.env"
done
(cd "$big" && "$bin" scan --no-config --format html -o "$work/big.html" . || [ $? -eq 1 ])
echo "check-html: big report $(wc -c < "$work/big.html") bytes"

mkdir -p target
# An ES module resolves packages from its own directory: run a copy beside node_modules.
cp scripts/ci/check-html.mjs "$tools/check-html.mjs"
node "$tools/check-html.mjs" "$chromium" \
  "$work/known.html" "$work/big.html" "$PWD/target/html-report.png" 10000
