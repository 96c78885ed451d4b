# src/report/ reuses src/capture/'s pcapng block writer and CLI11 for the
# shared output options; tpk_report is defined after the cmake/ parts run,
# so the links are deferred to the end of the top-level directory.
# bench_html.cpp draws the bench module's results.
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL
               target_link_libraries tpk_report PUBLIC tpk_capture tpk_bench CLI11::CLI11)

# The runtime test decodes Chromium's PNG screenshot with zlib.
find_package(ZLIB REQUIRED)
function(tpk_report_test_links)
  if(TARGET runtime_report)
    target_link_libraries(runtime_report PRIVATE ZLIB::ZLIB)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL tpk_report_test_links)
