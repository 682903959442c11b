# The two entry points from the README. Both install what is missing (Debian packages, as root),
# configure with CMake and build; `run` then runs the default scenario, `test` runs the suite.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

# Debian 12 packages the build needs (see ../shared/DEBIAN12-NOTES.md for the CMake targets).
PACKAGES = cmake g++ make ninja-build ccache pkg-config catch2 libyaml-cpp-dev libcli11-dev \
           nlohmann-json3-dev libbenchmark-dev libfast-float-dev \
           prometheus-cpp-dev libeigen3-dev libcpp-httplib-dev
# Only the tests need these: promtool checks the Prometheus export, Chromium renders the report,
# pybind11 and Python's headers build the Python policy host (optional elsewhere: README).
TEST_PACKAGES = prometheus chromium pybind11-dev python3-dev

.PHONY: all deps configure build run test test-sanitize fuzz bench clean

all: build

deps:
	@missing=""; for p in $(PACKAGES) $(if $(filter test,$(MAKECMDGOALS)),$(TEST_PACKAGES)); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

run: configure
	cmake --build $(BUILD) -j $(JOBS) --target fleetsim
	$(BUILD)/fleetsim run --out out/default

# Builds only what the tests need (not the benchmarks), runs them, then the regression gate on
# the CI-sized scenario set (simulated metrics exactly, engine speed as a ratio; bench/gate).
# With FULL=1 (a machine with time to spare) it then also runs test-sanitize and fuzz (20 s per
# harness): about 25 minutes more on 2 cores, which is why the 2-core CI leaves them out.
test: configure
	cmake --build $(BUILD) -j $(JOBS) --target fleetsim fleetsim_tests
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(BUILD)/fleetsim bench --baseline bench/baseline.json --label ci
ifeq ($(FULL),1)
	$(MAKE) test-sanitize
	$(MAKE) fuzz FUZZ_SECONDS=20
endif

# The whole suite again with AddressSanitizer and UndefinedBehaviorSanitizer (g++, -O1, asserts
# on), in its own build folder; any finding fails the test that triggered it. Not part of `test`
# (README, "Sanitizers and fuzzing": it takes too long for CI). No gate: speed means nothing here.
ASAN_BUILD ?= build-asan
SANITIZE_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
test-sanitize: deps
	[ -f $(ASAN_BUILD)/build.ninja ] || cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_FLAGS_DEBUG="$(SANITIZE_FLAGS)" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
	  -DFLEETSIM_BUILD_BENCH=OFF -DFLEETSIM_CUDA=OFF -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target fleetsim fleetsim_tests
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# libFuzzer harnesses (tests/fuzz/): clang++, its own build folder; each harness runs for
# FUZZ_SECONDS (default 60). `make fuzz FUZZERS="fuzz_scenario fuzz_node_list"` runs a few.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZERS ?=
fuzz:
	@command -v clang++ >/dev/null || { echo "make fuzz needs clang++ (Debian: apt-get install clang)"; exit 2; }
	[ -f $(FUZZ_BUILD)/build.ninja ] || cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=clang++ -DFLEETSIM_FUZZ=ON -DFLEETSIM_CUDA=OFF -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fleetsim_fuzzers
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZERS)

bench: configure
	cmake --build $(BUILD) -j $(JOBS) --target fleetsim_bench fleetsim_calibrate
	$(BUILD)/bench/fleetsim_bench
	$(BUILD)/bench/fleetsim_calibrate

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) out
