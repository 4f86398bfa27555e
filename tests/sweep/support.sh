# What the shell tests of `tcplab sweep` share, sourced after `set -u`
# with the test's arguments (TCPLAB_COMMAND OUT_DIR): $tcplab, $here (this
# directory), a fresh OUT_DIR holding tiny.lua as the working directory
# and $out (its absolute path), sqlite3 (skipped without it, ctest's 77,
# unless CI says every tool must be there), fail, q and finish.
tcplab=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out" && mkdir -p "$out" && cd "$out" || exit 1
out=$(pwd)
cp "$here/tiny.lua" .

if ! command -v sqlite3 >/dev/null 2>&1; then
  echo "sqlite3 not found (Debian package sqlite3): skipped" >&2
  [ -n "${CI:-}" ] && exit 1
  exit 77
fi

failures=0
fail() {
  echo "FAIL $*" >&2
  failures=$((failures + 1))
}
# A query on DIR's database; waits for a moment when the sweep is writing.
q() { sqlite3 -batch -cmd '.timeout 5000' "$1/sweep.db" "$2"; }

# The exit status: 1 if a check failed (the files stay for a look).
finish() {
  if [ "$failures" -gt 0 ]; then
    echo "$failures check(s) failed; files kept in $out" >&2
    exit 1
  fi
  echo "all checks passed"
  exit 0
}
