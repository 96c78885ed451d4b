# The two commands of the README: `make run` and `make test`. Each installs
# the Debian packages it needs (scripts/install-deps GROUP; idempotent) and
# builds what it runs: `make run` only the build's packages and the
# tracepacket target, `make test` GoogleTest and the test peers too and every
# target.
#
#   make run            build tracepacket and run the default journey (ARGS=... for others)
#   make build          build tracepacket only
#   make test           build and run every test (ctest)
#   make test SANITIZE=1  the same under AddressSanitizer + UBSan
#   make bench          benchmarks against the peers; figures for docs/performance.md
#   make fuzz           libFuzzer targets (FUZZ_SECONDS each, default 60)

SANITIZE ?= 0
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60

ifeq ($(SANITIZE),1)
BUILD ?= build-asan
CMAKE_FLAGS += -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTPK_SANITIZE=ON
else
BUILD ?= build
CMAKE_FLAGS += -DCMAKE_BUILD_TYPE=Release
endif

.PHONY: all deps build run test bench fuzz clean

all: build

deps:
	@scripts/install-deps build

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS) --target tracepacket

run: build
	./$(BUILD)/tracepacket $(ARGS)

# TPK_TESTS=ON: a missing GoogleTest is an error here, never a silent skip.
test:
	@scripts/install-deps test
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DTPK_TESTS=ON
	cmake --build $(BUILD) -j $(JOBS)
	ctest --test-dir $(BUILD) --output-on-failure

bench:
	@scripts/install-deps bench
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS) --target tracepacket bench_pingpong bench_correlate
	BUILD=$(BUILD) bench/run-all

fuzz:
	@scripts/install-deps fuzz
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTPK_FUZZ=ON \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
	cmake --build build-fuzz -j $(JOBS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) BUILD=build-fuzz fuzz/run-all

clean:
	rm -rf build build-asan build-fuzz
