# The two commands of the README: `make run` and `make test`. Both install the
# Debian packages they need (scripts/install-deps is idempotent) and build.
#
#   make run            build and run the default journey
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
	@scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/tracepacket $(ARGS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure

bench: build
	BUILD=$(BUILD) bench/run-all

fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTPK_FUZZ=ON \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
	cmake --build build-fuzz -j $(JOBS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) BUILD=build-fuzz fuzz/run-all

clean:
	rm -rf build build-asan build-fuzz
