#!/bin/sh
# cmake --install puts the module where lua5.4 looks under a prefix and
# the command where it finds the module: install into a scratch prefix,
# run the API test with the installed command, and require the module
# from the stock lua5.4 with that prefix's share/lua/5.4 and lib/lua/5.4
# (the default paths when the prefix is /usr/local).
#   install_test.sh BUILD_DIR PREFIX TESTS_DIR [LUA54]
set -eu
build=$1 prefix=$2 tests=$3 lua=${4:-}
rm -rf "$prefix"
"${CMAKE:-cmake}" --install "$build" --prefix "$prefix" >/dev/null
test -f "$prefix/share/lua/5.4/tcplab/init.lua"
test -f "$prefix/lib/lua/5.4/tcplab/core.so"
test -f "$prefix/lib/libtcplab-sim.so"
"$prefix/bin/tcplab" run "$tests/api_test.lua" --out "$prefix/out"
if [ -n "$lua" ] && [ -z "${TCPLAB_SANITIZE_BUILD:-}" ]; then
  LUA_PATH="$prefix/share/lua/5.4/?.lua;$prefix/share/lua/5.4/?/init.lua;;" \
  LUA_CPATH="$prefix/lib/lua/5.4/?.so;;" \
    "$lua" -e 'local t = require("tcplab"); local s = t.sim(); s:node("a"); s:close(); print("lua5.4: " .. t.version)'
fi
