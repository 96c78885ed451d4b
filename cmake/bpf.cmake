# The kernel side's build (STYLE.md, pattern of libbpf-bootstrap
# tools/cmake/FindBpfObject.cmake): vmlinux.h from the running kernel's BTF,
# bpf/*.bpf.c compiled with clang -target bpf, one `bpftool gen skeleton`
# header per program. tpk_bpf_skeletons exposes the generated headers
# (<tracepacket.skel.h>) and bpf/events.h; CMakeLists.txt links it into
# tpk_kernel through TPK_BPF_TARGETS.

find_program(TPK_BPFTOOL bpftool PATHS /usr/sbin /sbin /usr/local/sbin)
find_program(TPK_BPF_CLANG NAMES clang clang-16 clang-15 clang-14)
if(NOT TPK_BPFTOOL OR NOT TPK_BPF_CLANG)
  message(FATAL_ERROR "tracepacket needs clang and bpftool to build its BPF programs; "
                      "run scripts/install-deps")
endif()
set(TPK_VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH
    "BTF of the kernel the programs are built for (vmlinux.h is generated from it)")
if(NOT EXISTS ${TPK_VMLINUX_BTF})
  message(FATAL_ERROR "${TPK_VMLINUX_BTF} is missing: this kernel was built without "
                      "CONFIG_DEBUG_INFO_BTF, which the BPF programs need (CO-RE, tp_btf)")
endif()

set(TPK_BPF_OUT ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${TPK_BPF_OUT})

add_custom_command(
  OUTPUT ${TPK_BPF_OUT}/vmlinux.h
  COMMAND sh -c "'${TPK_BPFTOOL}' btf dump file '${TPK_VMLINUX_BTF}' format c > vmlinux.h.tmp && mv vmlinux.h.tmp vmlinux.h"
  WORKING_DIRECTORY ${TPK_BPF_OUT}
  COMMENT "Generating vmlinux.h from ${TPK_VMLINUX_BTF}"
  VERBATIM)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(TPK_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(TPK_BPF_ARCH arm64)
else()
  set(TPK_BPF_ARCH ${CMAKE_SYSTEM_PROCESSOR})
endif()

file(GLOB tpk_bpf_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/bpf/*.bpf.c)
file(GLOB tpk_bpf_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/bpf/*.h)
# Each program is built twice (bpf/tracepacket.bpf.c explains why): <stem> for
# kernels with bpf_rdonly_cast() (6.2+), <stem>_compat (-DTPK_COMPAT) for
# 5.10 to 6.1. Both skeletons are linked in; user space picks one at start.
set(tpk_skeletons)
foreach(src ${tpk_bpf_sources})
  get_filename_component(stem ${src} NAME_WE)   # tracepacket.bpf.c -> tracepacket
  foreach(flavour "" "_compat")
    set(name ${stem}${flavour})
    set(obj ${TPK_BPF_OUT}/${name}.bpf.o)
    set(skel ${TPK_BPF_OUT}/${name}.skel.h)
    set(defines)
    if(flavour STREQUAL "_compat")
      set(defines -DTPK_COMPAT)
    endif()
    add_custom_command(
      OUTPUT ${obj}
      COMMAND ${TPK_BPF_CLANG} -target bpf -g -O2 -Wall -D__TARGET_ARCH_${TPK_BPF_ARCH} ${defines}
              -I${TPK_BPF_OUT} -I${PROJECT_SOURCE_DIR}/bpf -c ${src} -o ${obj}
      DEPENDS ${src} ${tpk_bpf_headers} ${TPK_BPF_OUT}/vmlinux.h
      COMMENT "Compiling BPF ${name}.bpf.o"
      VERBATIM)
    add_custom_command(
      OUTPUT ${skel}
      COMMAND sh -c "'${TPK_BPFTOOL}' gen skeleton '${obj}' name ${name}_bpf > '${skel}.tmp' && mv '${skel}.tmp' '${skel}'"
      DEPENDS ${obj}
      COMMENT "Generating skeleton ${name}.skel.h"
      VERBATIM)
    list(APPEND tpk_skeletons ${skel})
  endforeach()
endforeach()

add_custom_target(tpk_bpf_generate DEPENDS ${tpk_skeletons})
add_library(tpk_bpf_skeletons INTERFACE)
add_dependencies(tpk_bpf_skeletons tpk_bpf_generate)
target_include_directories(tpk_bpf_skeletons INTERFACE ${TPK_BPF_OUT} ${PROJECT_SOURCE_DIR}/bpf)
set(TPK_BPF_TARGETS tpk_bpf_skeletons)
