# Tests in Debian's own kernels, booted under QEMU (TCG) with this machine's /
# as their root (tests/vm/README.md). Each kernel is fetched once into
# ${CMAKE_BINARY_DIR}/vm-kernels by a test of its own, vm/<version>/fetch (a
# ctest fixture), so that a failed download shows as itself. All are labelled
# vm (ctest -L vm, or -LE vm to leave them out) and skip (exit 77, the reason
# printed) when not root or when qemu is missing.
#
#   tpk_vm_test(NAME KERNEL_VERSION COMMAND cmd args...)
# adds a test that runs the command in that kernel's guest (generator
# expressions such as $<TARGET_FILE:tracepacket> work); one VM at a time.

include_guard(GLOBAL)

option(TPK_VM_TESTS "Boot Debian's 5.10/6.1/6.12 kernels under QEMU and test in them" ON)
set(TPK_VM_KERNELS 5.10 6.1 6.12 CACHE STRING "Kernel versions the vm/<version>/boot tests boot")
set(TPK_VM_CACHE ${CMAKE_BINARY_DIR}/vm-kernels)
set(TPK_VM_TEST ${PROJECT_SOURCE_DIR}/tests/vm/vm-test)

enable_testing()

# The fetch fixture of one kernel version, made once.
function(tpk_vm_kernel version)
  if(TEST vm/${version}/fetch)
    return()
  endif()
  add_test(NAME vm/${version}/fetch COMMAND ${TPK_VM_TEST} fetch ${version} ${TPK_VM_CACHE})
  set_tests_properties(vm/${version}/fetch PROPERTIES
    FIXTURES_SETUP tpk_vm_kernel_${version} LABELS vm SKIP_RETURN_CODE 77 TIMEOUT 600)
endfunction()

function(tpk_vm_test name version)
  # PARSE_ARGV keeps an argument with a ';' (sh -c "a; b") in one piece.
  cmake_parse_arguments(PARSE_ARGV 2 T "" "" "COMMAND")
  if(NOT TPK_VM_TESTS)
    return()
  endif()
  if(NOT T_COMMAND)
    message(FATAL_ERROR "tpk_vm_test(${name}): COMMAND is missing")
  endif()
  tpk_vm_kernel(${version})
  # run-in-vm's own timeout comes first, so that it stops qemu and prints
  # the guest's last console lines before ctest kills the test. One vCPU:
  # under emulation on a loaded host, two packets sent microseconds apart
  # on two vCPUs reach the capture in another order than they reached the
  # device (the journey's wire order), which the capture tests compare.
  add_test(NAME ${name} COMMAND ${TPK_VM_TEST} run ${version} ${TPK_VM_CACHE}
                                --timeout 840 --cpus 1 -- ${T_COMMAND})
  set_tests_properties(${name} PROPERTIES
    FIXTURES_REQUIRED tpk_vm_kernel_${version} RESOURCE_LOCK tpk_vm
    LABELS vm SKIP_RETURN_CODE 77 TIMEOUT 900)
endfunction()

if(TPK_VM_TESTS)
  find_program(TPK_QEMU qemu-system-x86_64)
  if(NOT TPK_QEMU)
    message(STATUS "vm tests: qemu-system-x86_64 not found; they will skip (scripts/install-deps installs it)")
  endif()
  foreach(version ${TPK_VM_KERNELS})
    tpk_vm_kernel(${version})
    add_test(NAME vm/${version}/boot COMMAND ${TPK_VM_TEST} boot ${version} ${TPK_VM_CACHE})
    set_tests_properties(vm/${version}/boot PROPERTIES
      FIXTURES_REQUIRED tpk_vm_kernel_${version} RESOURCE_LOCK tpk_vm
      LABELS vm SKIP_RETURN_CODE 77 TIMEOUT 400)
  endforeach()
endif()

# The journey on each kernel (issue: tracepacket on the kernels people run):
# the default TCP journey against its capture, UDP's and UNIX's shapes, and
# the hops each kernel lacks, gives from a fallback or limits
# (tests/runtime/journey/kernel_matrix_test.cpp). The host's own kernel runs
# the same tests natively (runtime/journey/...).
foreach(version ${TPK_VM_KERNELS})
  tpk_vm_test(vm/${version}/journey ${version} COMMAND $<TARGET_FILE:runtime_journey>
    --gtest_filter=KernelMatrix.*:JourneyRuntime.DefaultTcp*:JourneyRuntime.Udp*:JourneyRuntime.Unix*)
endforeach()
