# The README's two commands: `make run` and `make test`. Both install what is missing first.
BUILD      ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
SERVER      = $(BUILD)/bin/workspaces-server

.PHONY: all deps build run test test-unit test-integration test-e2e test-fuzz node-deps test-sanitize test-asan test-tsan fuzz fuzz-build bench soak format clean

all: build

deps:
	@scripts/phase deps scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_EXTRA) >/dev/null
	@scripts/phase build:$(BUILD) cmake --build $(BUILD) -j $(JOBS)

# Development mode on :9090 unless the environment or .env says otherwise. Only what building
# and running the server needs is installed, and only the server is built (`make test` installs
# and builds the rest).
run:
	@scripts/phase deps scripts/install-deps build
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_EXTRA) >/dev/null
	@echo "make run: building the server ($(BUILD)/bin/workspaces-server)"
	@cmake --build $(BUILD) -j $(JOBS) --target workspaces-server
	DEVELOPMENT=$${DEVELOPMENT:-true} $(SERVER)

node-deps: deps
	@scripts/phase node-deps scripts/node-deps

test: build node-deps
	@$(MAKE) --no-print-directory test-unit test-integration test-e2e test-fuzz

test-unit:
	@scripts/phase unit:$(BUILD) ctest --test-dir $(BUILD) --output-on-failure --no-tests=error -j $(JOBS)

# The abuse tests open 2,000 sockets at once: the soft open-file limit is raised to the hard one.
test-integration:
	@ulimit -n $$(ulimit -Hn) 2>/dev/null; WS_SERVER_BIN=$(abspath $(SERVER)) scripts/phase integration:$(BUILD) \
	  node --test --test-concurrency=1 tests/integration/ tests/client/

# The demo page in headless Debian Chromium with fake media (and a real coturn).
test-e2e:
	@WS_SERVER_BIN=$(abspath $(SERVER)) scripts/phase e2e node --test --test-concurrency=1 tests/e2e/

# Sanitizer builds run the unit and integration tests: ASan+UBSan, then TSan.
test-sanitize: test-asan test-tsan

test-asan: node-deps
	@WS_SANITIZE=asan $(MAKE) --no-print-directory build test-unit test-integration BUILD=build-asan \
	  BUILD_TYPE=Sanitize CMAKE_EXTRA=-DWS_SANITIZE=asan

test-tsan: node-deps
	@WS_SANITIZE=tsan $(MAKE) --no-print-directory build test-unit test-integration BUILD=build-tsan \
	  BUILD_TYPE=Sanitize CMAKE_EXTRA=-DWS_SANITIZE=tsan

# The libFuzzer targets of fuzz/ (docs/fuzzing.md): clang, ASan+UBSan, in their own build dir.
# `make fuzz` runs each for FUZZ_SECONDS; `make test` for 30 s. A crash fails the run and
# leaves its input in $(FUZZ_BUILD)/fuzz-runs/<target>/.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60

fuzz-build: deps
	@cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
	  -DWS_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
	@scripts/phase build:$(FUZZ_BUILD) cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers

fuzz: fuzz-build
	@scripts/fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS)

test-fuzz: fuzz-build
	@scripts/phase fuzz scripts/fuzz $(FUZZ_BUILD) 30

# Load generator against our server, the PeerJS server and a bare Beast relay, side by side
# (docs/performance.md). BENCH_ARGS e.g. "--runs 1 --only relay,latency".
bench: build node-deps
	@ulimit -n $$(ulimit -Hn) 2>/dev/null; node bench/run.mjs $(BENCH_ARGS)

# Soak: 1,000 clients churn (join, relay, leave, reconnect) against our server; its RSS,
# descriptors and connections must come back afterwards (docs/performance.md). SOAK_ARGS e.g.
# "--seconds 600 --out build/soak/soak.json".
soak: build node-deps
	@ulimit -n $$(ulimit -Hn) 2>/dev/null; node bench/soak.mjs $(SOAK_ARGS)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build build-asan build-tsan build-fuzz
