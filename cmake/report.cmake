# src/report/ reuses src/capture/'s pcapng block writer and CLI11 for the
# shared output options. tpk_report is defined after the cmake/ parts run,
# so the link is deferred to the end of the top-level directory.
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL
               target_link_libraries tpk_report PUBLIC tpk_capture CLI11::CLI11)
