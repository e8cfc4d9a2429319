# Sourced by the scripts/check-*.sh: installs the checkers they need into target/ci-tools (no
# global install), each step failing loudly with the reason.
#   need_py PACKAGE...   a venv at target/ci-tools/py with these PyPI packages; sets $PY_BIN
#   need_npm PACKAGE...  npm packages under target/ci-tools/npm; sets $NPM_DIR
CI_TOOLS="$PWD/target/ci-tools"

need_py() {
  PY_BIN="$CI_TOOLS/py/bin"
  if [ ! -x "$PY_BIN/python" ]; then
    command -v python3 >/dev/null || { echo "ci-tools: python3 is not installed" >&2; return 1; }
    python3 -m venv "$CI_TOOLS/py" ||
      { echo "ci-tools: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; return 1; }
  fi
  local missing=()
  for p in "$@"; do "$PY_BIN/python" -m pip show -q "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "ci-tools: pip install ${missing[*]} into $CI_TOOLS/py"
    "$PY_BIN/python" -m pip install -q --disable-pip-version-check "${missing[@]}" >&2 ||
      { echo "ci-tools: pip install ${missing[*]} failed" >&2; return 1; }
  fi
}

need_npm() {
  NPM_DIR="$CI_TOOLS/npm"
  command -v npm >/dev/null || { echo "ci-tools: npm is not installed (apt-get install npm)" >&2; return 1; }
  local missing=()
  for p in "$@"; do [ -d "$NPM_DIR/node_modules/${p%@*}" ] || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "ci-tools: npm install ${missing[*]} into $NPM_DIR"
    mkdir -p "$NPM_DIR"
    PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
      "${missing[@]}" >&2 || { echo "ci-tools: npm install ${missing[*]} failed" >&2; return 1; }
  fi
}
