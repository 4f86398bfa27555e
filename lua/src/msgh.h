/* The message handler both the tcplab command and tcplab.core run Lua
 * code under: the error as text, with a traceback from where it was
 * raised. Header-only: the two are separate binaries (the module must not
 * link anything the command does). */
#ifndef TCPLAB_MSGH_H
#define TCPLAB_MSGH_H

#include <lauxlib.h>
#include <lua.h>

#include <string.h>

static int tcplab_msgh(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
      msg = lua_tostring(L, -1);
    } else {
      msg = lua_pushfstring(L, "(error object is a %s value)",
                            luaL_typename(L, 1));
    }
  }
  /* An error from a simulation callback carries its own traceback (from
   * inside the callback); a second one would only repeat the outer part. */
  if (strstr(msg, "\nstack traceback:") != NULL) {
    lua_pushstring(L, msg);
    return 1;
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

#endif
