# The two entry points from the README. Both install what is missing (Debian packages, as root),
# configure with CMake and build; `run` then runs the default scenario, `test` runs the suite.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

# Debian 12 packages the build needs (see ../shared/DEBIAN12-NOTES.md for the CMake targets).
PACKAGES = cmake g++ make ninja-build ccache pkg-config catch2 libyaml-cpp-dev libcli11-dev \
           nlohmann-json3-dev libbenchmark-dev libfast-float-dev \
           prometheus-cpp-dev libeigen3-dev
# Only the tests need these: promtool checks the Prometheus export, Chromium renders the report.
TEST_PACKAGES = prometheus chromium

.PHONY: all deps configure build run test bench clean

all: build

deps:
	@missing=""; for p in $(PACKAGES) $(if $(filter test,$(MAKECMDGOALS)),$(TEST_PACKAGES)); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) -DCMAKE_CXX_COMPILER_LAUNCHER=ccache

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

run: configure
	cmake --build $(BUILD) -j $(JOBS) --target fleetsim
	$(BUILD)/fleetsim run --out out/default

# Builds only what the tests need (not the benchmarks), runs them, then the regression gate on
# the CI-sized scenario set (simulated metrics exactly, engine speed as a ratio; bench/gate).
test: configure
	cmake --build $(BUILD) -j $(JOBS) --target fleetsim fleetsim_tests
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(BUILD)/fleetsim bench --baseline bench/baseline.json --label ci

bench: configure
	cmake --build $(BUILD) -j $(JOBS) --target fleetsim_bench fleetsim_calibrate
	$(BUILD)/bench/fleetsim_bench
	$(BUILD)/bench/fleetsim_calibrate

clean:
	rm -rf $(BUILD) out
