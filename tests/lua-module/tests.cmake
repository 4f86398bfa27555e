# Tests of the tcplab Lua module and the tcplab command, included from
# lua/CMakeLists.txt (they need its targets). Each runs the way a user
# does: scripts through `tcplab run`, or the stock lua5.4 with the build
# tree's LUA_PATH/LUA_CPATH. Driver tests (bad input, the command) run
# under lua5.4 and start the command for every script.
find_program(TCPLAB_LUA54 NAMES lua5.4 lua54
             DOC "the stock Lua 5.4 interpreter, for the module's tests")

set(tcplab_lua_tests ${PROJECT_SOURCE_DIR}/tests/lua-module)
set(tcplab_lua_out ${CMAKE_CURRENT_BINARY_DIR}/test-out)
set(tcplab_lua_test_names)

# The API through the command (which links the sanitizers itself).
add_test(NAME lua_module_api
         COMMAND tcplab run ${tcplab_lua_tests}/api_test.lua
                 --out ${tcplab_lua_out}/api)
list(APPEND tcplab_lua_test_names lua_module_api)

# cmake --install, then the installed command and module.
set(tcplab_lua54_arg)
if(TCPLAB_LUA54)
  set(tcplab_lua54_arg ${TCPLAB_LUA54})
endif()
add_test(NAME lua_module_install
         COMMAND sh ${tcplab_lua_tests}/install_test.sh ${CMAKE_BINARY_DIR}
                 ${tcplab_lua_out}/prefix ${tcplab_lua_tests} ${tcplab_lua54_arg})
set_tests_properties(lua_module_install PROPERTIES
  ENVIRONMENT "CMAKE=${CMAKE_COMMAND}")
list(APPEND tcplab_lua_test_names lua_module_install)

if(TCPLAB_LUA54)
  # The stock interpreter requires the module from the build tree. An
  # uninstrumented lua5.4 cannot load a sanitized module unless the
  # sanitizer runtime comes first, so the ASan build preloads it here
  # (and the other tests leave the stock interpreter out there).
  set(tcplab_stock_env
      "LUA_PATH=${TCPLAB_LUA_DIR}/?.lua\\;${TCPLAB_LUA_DIR}/?/init.lua\\;\\;"
      "LUA_CPATH=${TCPLAB_LUA_DIR}/?.so\\;\\;")
  if(TCPLAB_SANITIZE)
    execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                    OUTPUT_VARIABLE tcplab_libasan
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libubsan.so
                    OUTPUT_VARIABLE tcplab_libubsan
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    list(APPEND tcplab_stock_env
         "LD_PRELOAD=${tcplab_libasan}:${tcplab_libubsan}")
  endif()
  add_test(NAME lua_module_stock_lua
           COMMAND ${TCPLAB_LUA54} ${tcplab_lua_tests}/api_test.lua
                   ${tcplab_lua_out}/stock)
  set_tests_properties(lua_module_stock_lua PROPERTIES
    ENVIRONMENT "${tcplab_stock_env}")
  list(APPEND tcplab_lua_test_names lua_module_stock_lua)

  foreach(name bad_input cli)
    add_test(NAME lua_module_${name}
             COMMAND ${TCPLAB_LUA54} ${tcplab_lua_tests}/${name}_test.lua
                     $<TARGET_FILE:tcplab> ${tcplab_lua_out}/${name})
    list(APPEND tcplab_lua_test_names lua_module_${name})
  endforeach()
else()
  message(WARNING "lua5.4 not found: only the module's in-command tests run")
endif()

if(TCPLAB_SANITIZE)
  # Tells the tests to leave out the stock lua5.4 (see above). Leak
  # checking stays on: a simulation closed or collected frees everything.
  set_property(TEST ${tcplab_lua_test_names} APPEND PROPERTY ENVIRONMENT
               "TCPLAB_SANITIZE_BUILD=1")
endif()
set_property(DIRECTORY APPEND PROPERTY ADDITIONAL_CLEAN_FILES ${tcplab_lua_out})
