# Included by ctest (TEST_INCLUDE_FILES) in the sanitizer build before any
# test starts; every test process inherits this environment.
#
# GCC 12's (and LLVM up to 16's) interceptor of __tls_get_addr takes a
# dynamic TLS block whose address is 16 bytes past a page boundary for a
# pre-2.25 glibc header and reads a bogus range from before it. Our tests
# dlopen tcplab/core.so (and with it ns-3), so now and then LeakSanitizer's
# tracer dies scanning that range at exit ("Tracer caught signal 11"), a
# failure with no leak in it. Without the interceptor, the leak check of
# everything else is unchanged. Options the caller sets still win.
if(DEFINED ENV{ASAN_OPTIONS} AND NOT "$ENV{ASAN_OPTIONS}" STREQUAL "")
  set(ENV{ASAN_OPTIONS} "intercept_tls_get_addr=0:$ENV{ASAN_OPTIONS}")
else()
  set(ENV{ASAN_OPTIONS} "intercept_tls_get_addr=0")
endif()
