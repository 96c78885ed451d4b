# Programs of bench/ that `make bench` (bench/run-all) compares tracepacket
# with. bench_pingpong: the minimal blocking ping-pong loop, deliberately
# outside the tpk_* modules so it shares no code with what it checks.
add_executable(bench_pingpong ${PROJECT_SOURCE_DIR}/bench/pingpong.c)
set_target_properties(bench_pingpong PROPERTIES C_STANDARD 11 C_EXTENSIONS ON)

# bench_correlate: the correlator and the JSON writer on a recorded trace,
# offline (Google Benchmark; `make bench` installs it, other builds skip it).
find_package(benchmark QUIET)
if(benchmark_FOUND)
  add_executable(bench_correlate ${PROJECT_SOURCE_DIR}/bench/correlate.cpp)
  target_link_libraries(bench_correlate PRIVATE tpk_journey tpk_report benchmark::benchmark)
endif()
