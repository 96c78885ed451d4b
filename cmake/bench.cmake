# Programs of bench/ that `make bench` (bench/run-all) compares tracepacket
# with. bench_pingpong: the minimal blocking ping-pong loop, deliberately
# outside the tpk_* modules so it shares no code with what it checks.
add_executable(bench_pingpong ${PROJECT_SOURCE_DIR}/bench/pingpong.c)
set_target_properties(bench_pingpong PROPERTIES C_STANDARD 11 C_EXTENSIONS ON)
