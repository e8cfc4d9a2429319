#!/usr/bin/env bash
# Issue #13: a whole-history scan of a large repository (git/git) by azleak -j2 and -j1, beside
# betterleaks and `git cat-file --batch-all-objects --batch`, back to back in one run, with wall
# time, CPU time (user + sys) and peak RSS of each (GNU time), and the load average.
#
#   benches/history-gitgit.sh REPO.git [ROUNDS] [REFERENCE_AZLEAK]
#
# REPO.git: a bare clone with branches and tags only, e.g.
#   git clone --bare https://github.com/git/git gitgit.git   (85,361 commits, 1,016 refs)
# REFERENCE_AZLEAK: another azleak binary (an earlier build) to time in the same run.
# AZLEAK=BINARY: time that build instead of building this tree (`cargo build --release`).
# Betterleaks is taken from PATH or $HOME/peers/bin (shared/bench/install-peers.sh installs it);
# it is left out if absent.
set -euo pipefail
repo=${1:?usage: $0 REPO.git [ROUNDS] [REFERENCE_AZLEAK]}
rounds=${2:-1}
reference=${3:-}
here=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$PATH:$HOME/peers/bin"
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (/usr/bin/time)" >&2; exit 2; }

if [ -z "${AZLEAK:-}" ]; then
  (cd "$here" && cargo build --release -q)
fi
azleak=${AZLEAK:-$here/target/release/azleak}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# run NAME COMMAND...: one timed run; prints "NAME|wall|cpu|user|sys|rss".
run() {
  local name=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$out/time" "$@" >/dev/null 2>"$out/err" || true
  # GNU time writes "Command exited with non-zero status N" first when the command fails (a
  # scan that reports unreadable objects exits 2): the figures are on the last line.
  read -r wall user sys rss < <(tail -n 1 "$out/time")
  printf '%s|%s|%.1f|%s|%s|%d\n' "$name" "$wall" "$(echo "$user + $sys" | bc)" "$user" "$sys" \
    "$((rss / 1024))"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
for round in $(seq "$rounds"); do
  run "azleak git -j2 -f json -o /dev/null" "$azleak" git "$repo" -j2 -f json -o /dev/null
  run "azleak git -j1 -f json -o /dev/null" "$azleak" git "$repo" -j1 -f json -o /dev/null
  if [ -n "$reference" ]; then
    run "reference azleak -j2" "$reference" git "$repo" -j2 -f json -o /dev/null
    run "reference azleak -j1" "$reference" git "$repo" -j1 -f json -o /dev/null
  fi
  if command -v betterleaks >/dev/null; then
    run "betterleaks git" betterleaks git "$repo" --no-banner -o "$out/bl.json"
  fi
  run "git cat-file --batch-all-objects --batch" \
    git -C "$repo" -c core.deltaBaseCacheLimit=1g cat-file --batch-all-objects --batch
done | {
  echo
  echo "| command | wall s | CPU s (user+sys) | user s | sys s | peak RSS MB |"
  echo "|---|---|---|---|---|---|"
  while IFS='|' read -r name wall cpu user sys rss; do
    echo "| \`$name\` | $wall | $cpu | $user | $sys | $rss |"
  done
}
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
