# Sourced by action.yml's steps (bash): sets the array `cmd` to the azleak arguments of a scan
# from the environment: MODE (tree | history | range), RANGE (BASE..HEAD, for range), TARGET
# (directory or repository), MIN_CONFIDENCE and BASELINE (empty: not given). Inputs reach the
# command line only as separate arguments, never as shell text.
case "${MODE:-tree}" in
  tree) cmd=(scan) ;;
  history) cmd=(git) ;;
  range) cmd=(git --range "$RANGE") ;;
  *) echo "azleak action: unknown scan mode ${MODE}" >&2; return 2 2>/dev/null || exit 2 ;;
esac
if [ -n "${MIN_CONFIDENCE:-}" ]; then cmd+=(--min-confidence "$MIN_CONFIDENCE"); fi
if [ -n "${BASELINE:-}" ]; then cmd+=(--baseline "$BASELINE"); fi
cmd+=("${TARGET:-.}")
