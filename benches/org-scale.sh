#!/usr/bin/env bash
# Issue 12 measurements, with the release build (cargo build --release first):
#   1. REPOS generated repositories (make-history-repo.py, MIN..MAX commits each): one process
#      `azleak git --repos-dir` vs 4 shards (`--shard K/4`, run side by side) + `azleak merge`;
#      the merged JSON must equal the single-process JSON (elapsed aside).
#   2. Peak memory of one process over the first 20 repositories vs all of them (it must stay
#      flat: each repository's blobs are scanned, recorded and dropped before the next).
#   3. Incremental re-scan with --datastore of an unchanged BIG-commit repository: first scan vs
#      re-scan (target: re-scan <= 5% of the first), a re-scan after new commits, and the
#      datastore's size (--big 0: skip); with --gitgit DIR (a clone of git/git, e.g. a bare
#      one), the same on it. --only-incremental runs only this part.
#   4. All repositories into one datastore: its bytes per table (SQLite's dbstat), per blob id
#      and per finding.
# Wall and CPU (user+sys) seconds and peak RSS come from /usr/bin/time; the machine is shared,
# so compare figures of the same run only.
# usage: benches/org-scale.sh [--repos N] [--min C] [--max C] [--big C] [--work DIR] [--bin PATH]
#                             [--gitgit DIR] [--only-incremental]
set -euo pipefail
repos=200 min=500 max=5000 big=20000 work="${TMPDIR:-/tmp}/azleak-org-bench" bin="" gitgit="" only_inc=""
while [ $# -gt 0 ]; do
  case "$1" in
    --repos) repos=$2; shift 2 ;;
    --min) min=$2; shift 2 ;;
    --max) max=$2; shift 2 ;;
    --big) big=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --bin) bin=$(realpath "$2"); shift 2 ;;
    --gitgit) gitgit=$(cd "$2" && pwd); shift 2 ;;
    --only-incremental) only_inc=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${bin:-$root/target/release/azleak}"
gen="$root/../shared/bench/make-history-repo.py"
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
[ -f "$gen" ] || { echo "needs $gen (the shared bench generator)" >&2; exit 2; }
mkdir -p "$work/clones"
measure() { # label, command...: prints "label: wall s, cpu s, peak MiB"
  local label=$1; shift
  local out; out=$(mktemp)
  /usr/bin/time -f "%e %U %S %M" -o "$out" "$@" >/dev/null 2>&1 || true
  read -r wall user sys rss < <(tail -n 1 "$out")
  printf '%s: wall %.2f s, cpu %.2f s, peak %.0f MiB\n' "$label" "$wall" \
    "$(echo "$user + $sys" | bc)" "$(echo "$rss / 1024" | bc)"
  rm -f "$out"
}
if [ -z "$only_inc" ]; then
echo "== generating $repos repositories ($min-$max commits) in $work/clones"
span=$((max - min + 1))
for i in $(seq 0 $((repos - 1))); do
  dir="$work/clones/repo-$(printf %04d "$i")"
  [ -d "$dir" ] && continue
  commits=$((min + (i * 7919) % span))
  python3 "$gen" "$dir" --commits "$commits" --seed "$i" --files 120 --secrets 8 --quiet \
    --manifest "$work/repo-$i.manifest.jsonl" >/dev/null
done
cd "$work"
echo "== one process vs 4 shards + merge ($(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg))"
measure "one process" "$bin" git --repos-dir clones -f json -o single.json
ls -d clones/*/ | head -n 20 > first-20.txt
measure "one process, first 20 repositories" "$bin" git --repos first-20.txt -f json -o first-20.json
start=$(date +%s.%N)
for k in 1 2 3 4; do
  /usr/bin/time -f "%e %U %S %M" -o "shard-$k.time" \
    "$bin" git --repos-dir clones --shard "$k/4" -f json -o "shard-$k.json" >/dev/null 2>&1 &
done
wait
measure "merge" "$bin" merge shard-1.json shard-2.json shard-3.json shard-4.json -o merged.json
end=$(date +%s.%N)
cpu=$(for f in shard-*.time; do tail -n 1 "$f"; done | awk '{s += $2 + $3} END {print s}')
printf '4 shards side by side + merge: wall %.2f s, shards cpu %.2f s\n' "$(echo "$end - $start" | bc)" "$cpu"
python3 - <<'PY'
import json
def load(p):
    d = json.load(open(p)); d["summary"].pop("elapsed", None); return d
a, b = load("single.json"), load("merged.json")
print("findings:", len(a["findings"]), "| merged equals one process:", a == b)
if a != b:
    raise SystemExit(1)
PY
fi
cd "$work"
if [ "$big" -gt 0 ]; then # --big 0 leaves this part out
echo "== incremental re-scan of a $big-commit repository ($(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg))"
if [ ! -d big ]; then
  python3 "$gen" big --commits "$big" --seed 12 --quiet --manifest big.manifest.jsonl >/dev/null
fi
rm -f big.db
measure "first scan, no datastore" "$bin" git big -f json -o big-plain.json
measure "first scan, --datastore" "$bin" git big --datastore big.db -f json -o big-1.json
measure "re-scan, unchanged" "$bin" git big --datastore big.db -f json -o big-2.json
python3 -c "
import json
a = json.load(open('big-1.json'))['summary']; b = json.load(open('big-2.json'))['summary']
print('blobs first', a['files'], 'blobs re-scan', b['files'], 'commits', b['commits'])"
git -C big -c user.name=bench -c user.email=bench@example.com -c commit.gpgsign=false \
  commit -q --allow-empty -m "bench: one more commit $(date +%s)"
printf 'AZURE_CLIENT_SECRET=zzz8Q~zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzblP\n' > big/bench-new.env # azleak:allow
git -C big add bench-new.env
git -C big -c user.name=bench -c user.email=bench@example.com -c commit.gpgsign=false \
  commit -q -m "bench: a new secret $(date +%s)"
measure "re-scan, two new commits" "$bin" git big --datastore big.db -f json -o big-3.json
python3 -c "
import json
b = json.load(open('big-3.json'))
print('after two new commits: commits walked', b['summary']['commits'], 'blobs read', b['summary']['files'], 'findings', len(b['findings']))"
blobs=$(python3 -c "import json; print(json.load(open('big-1.json'))['summary']['files'])")
size=$(stat -c %s big.db)
echo "datastore: $size bytes for $blobs blob ids ($(echo "scale=1; $size / $blobs" | bc) B per blob)"
fi
if [ -n "$gitgit" ]; then
  echo "== git/git: $gitgit ($(git -C "$gitgit" rev-list --all | wc -l) commits, load: $(cut -d' ' -f1-3 /proc/loadavg))"
  rm -f gitgit.db
  measure "git/git first scan, --datastore" "$bin" git "$gitgit" --datastore gitgit.db -f json -o gitgit-1.json
  measure "git/git re-scan, unchanged" "$bin" git "$gitgit" --datastore gitgit.db -f json -o gitgit-2.json
  python3 -c "
import json
a = json.load(open('gitgit-1.json'))['summary']; b = json.load(open('gitgit-2.json'))['summary']
print('git/git: commits', a['commits'], '->', b['commits'], '| blobs', a['files'], '->', b['files'])"
  echo "git/git datastore: $(stat -c %s gitgit.db) bytes"
fi
[ -n "$only_inc" ] && exit 0
rm -f all.db
measure "all repositories into one datastore" "$bin" git --repos-dir clones --datastore all.db -f json -o all.json
echo "datastore of all repositories: $(stat -c %s all.db) bytes"
python3 - <<'PY'
import json, sqlite3
db = sqlite3.connect("all.db")
blobs = db.execute("SELECT count(*) FROM blobs").fetchone()[0]
findings = db.execute("SELECT count(*) FROM findings").fetchone()[0]
sizes = dict(db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
    print(f"  {name}: {size} bytes")
b = sizes.get("blobs", 0)
f = sum(v for k, v in sizes.items() if k == "findings" or k.startswith("sqlite_autoindex_findings"))
print(f"blob ids: {blobs}, {b / max(blobs, 1):.1f} B each, {b / max(blobs, 1) * 1e6 / 2**20:.0f} MiB per 1M")
print(f"findings: {findings}, {f / max(findings, 1):.0f} B each, {f / max(findings, 1) * 1e5 / 2**20:.0f} MiB per 100k")
PY
