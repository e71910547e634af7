# Shared helpers of scripts/test.sh and scripts/test-*.sh (source it: `. scripts/lib.sh`).
#
#   ROOT          the repository root (the caller is cd'd there)
#   LOG_DIR       where logs go: $CARGO_TARGET_DIR or target/, under logs/ (never a fixed /tmp path)
#   need_pkgs P…  installs the Debian packages among P… that are missing (apt-get, root or sudo)
#   step NAME CMD…      runs CMD, prints "PASS: [prefix: ]NAME (Ns)" or "FAIL: …", counts
#   step_log NAME CMD…  the same with CMD's output in $LOG_DIR/<prefix>-<name>.log, tail on failure
#   summary       prints the failed steps and "N passed, M failed"; returns non-zero on failure
#
# STEP_PREFIX (e.g. "ffi") is put in front of every step name of a sub-script.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
export CARGO_TERM_COLOR=never
LOG_DIR=${CARGO_TARGET_DIR:-$ROOT/target}/logs
mkdir -p "$LOG_DIR"
STEP_PREFIX=${STEP_PREFIX:-}
passed=0; failed=0; failures=()

need_pkgs() {   # need_pkgs PKG... : apt-get install the missing ones (idempotent, quiet)
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} = 0 ] && return 0
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  local log="$LOG_DIR/apt-${STEP_PREFIX:-install}.log"
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { $sudo apt-get update -qq && $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
    >"$log" 2>&1 || { tail -30 "$log"; echo "FAIL: installing ${missing[*]} (log: $log)"; return 1; }
}

_step_name() { echo "${STEP_PREFIX:+$STEP_PREFIX: }$1"; }

_step_done() {  # _step_done NAME STATUS T0
  local name; name=$(_step_name "$1")
  if [ "$2" = 0 ]; then
    echo "PASS: $name ($(( $(date +%s) - $3 ))s)"; passed=$((passed + 1))
  else
    echo "FAIL: $name ($(( $(date +%s) - $3 ))s)"; failed=$((failed + 1)); failures+=("$name")
  fi
  return "$2"
}

step() {   # step NAME COMMAND... : output to the terminal
  local name=$1 t0; shift; t0=$(date +%s)
  echo; echo "=== $(_step_name "$name")"
  "$@"
  _step_done "$name" $? "$t0"
}

step_log() {   # step_log NAME COMMAND... : output to a log, its tail on failure
  local name=$1 t0 st log; shift; t0=$(date +%s)
  log="$LOG_DIR/${STEP_PREFIX:+$STEP_PREFIX-}$(printf '%s' "$name" | tr -c 'A-Za-z0-9_-' '_' | cut -c1-80).log"
  "$@" >"$log" 2>&1; st=$?
  [ "$st" = 0 ] || { tail -n 40 "$log" | sed 's/^/    /'; echo "    (log: $log)"; }
  _step_done "$name" "$st" "$t0"
}

summary() {   # summary : the failed steps and the totals; non-zero when a step failed
  local f
  echo
  for f in "${failures[@]:-}"; do [ -n "$f" ] && echo "failed: $f"; done
  echo "${STEP_PREFIX:+$STEP_PREFIX: }$passed passed, $failed failed"
  [ "$failed" = 0 ]
}
