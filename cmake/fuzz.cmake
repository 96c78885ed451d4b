# libFuzzer targets (make fuzz: -DTPK_FUZZ=ON with clang, in build-fuzz).
# Every library is instrumented for coverage (fuzzer-no-link) and built with
# ASan/UBSan; the targets in fuzz/*.cpp link the libFuzzer driver.
if(TPK_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TPK_FUZZ needs clang (cmake -DCMAKE_CXX_COMPILER=clang++)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  file(GLOB tpk_fuzz_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/fuzz/*_fuzz.cpp)
  foreach(src ${tpk_fuzz_srcs})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src)
    # report: the lab recordings' writers (backlog_recording_fuzz).
    target_link_libraries(${name} PRIVATE tpk_capture tpk_decode tpk_report)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  endforeach()
endif()
