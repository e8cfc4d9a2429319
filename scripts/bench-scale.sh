#!/usr/bin/env bash
# Times azleak on the inputs of issue #7 items 2 and 3, at two sizes, to show that the time is
# linear in the input (doubling the input should about double the time, not quadruple it).
# Not part of `cargo test`. usage: scripts/bench-scale.sh [PATH/TO/azleak]   (default: a release build)
set -euo pipefail
bin=${1:-target/release/azleak}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
secret='zzz8Q~zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzblP' # azleak:allow (Microsoft's example)
time_it() { # label, then the command
  local label=$1; shift
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  printf '%-34s %8.2f s\n' "$label" "$(echo "$end - $start" | bc)"
}
for scale in 0.5 1; do
  python3 - "$work/$scale" "$scale" <<'PY'
import base64, os, sys
out, scale = sys.argv[1], float(sys.argv[2])
os.makedirs(out, exist_ok=True)
n = lambda k: int(k * scale)
open(f"{out}/percent.txt", "w").write("%7E" * n(5_000_000))
open(f"{out}/json.txt", "w").write("\\u007e" * n(3_000_000))
open(f"{out}/base64.txt", "w").write(base64.b64encode(b"8Q~" * n(400_000)).decode())
lit = '"' + ("abc8Q~" + "x" * 58) + '"'
open(f"{out}/concat.txt", "w").write(" + ".join([lit] * n(20_000)))
line = "k=zzz8Q~zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzblP"  # azleak:allow (Microsoft's example)
open(f"{out}/one-line.txt", "w").write(" ".join([line] * n(100_000)) + "\n")
PY
  for f in percent json base64 concat one-line; do
    time_it "scan $f.txt (x$scale)" "$bin" scan --format json "$work/$scale/$f.txt"
  done
  copies=$(python3 -c "print(int(1500 * $scale))")
  repo="$work/fan-$scale"
  mkdir -p "$repo" && git -C "$repo" init -q
  for i in $(seq 1 "$copies"); do
    mkdir -p "$repo/svc/$i" && echo "client_secret: $secret" > "$repo/svc/$i/app.yaml"
  done
  git -C "$repo" add -A && git -C "$repo" -c user.name=T -c user.email=t@e commit -qm copies
  for fmt in sarif json text; do
    time_it "git --format $fmt ($copies copies)" "$bin" git --format "$fmt" "$repo"
    printf '%-34s %8s bytes\n' "  output" "$("$bin" git --format "$fmt" "$repo" | wc -c)"
  done
done
