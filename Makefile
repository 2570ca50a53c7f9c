# The two commands a newcomer needs: `make demo` and `make test`.
GO ?= go
# Tests share one throwaway PostgreSQL cluster, started by the first test
# package that needs it and stopped at the end of `make test`.
export MINYI_TEST_DATA ?= $(CURDIR)/var/test

.PHONY: demo test bench build lint fuzz stop-test-db screenshots

demo: build
	./bin/minyi demo

build:
	$(GO) build -o bin/minyi ./cmd/minyi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# Each fuzz target: package and name. `make test` fuzzes each briefly on
# top of its seed corpus; `make fuzz` longer.
FUZZ_TARGETS = ./sampler:FuzzParsePhoneFrame ./sampler:FuzzParseHouseholdFrame ./survey:FuzzParseQuestionnaire ./survey:FuzzParseResponses ./survey:FuzzValidateAnswers
FUZZTIME ?= 60s

test: lint
	@status=0; $(GO) test -count=1 -timeout 20m ./... || status=$$?; \
	if [ $$status -eq 0 ]; then $(MAKE) --no-print-directory fuzz FUZZTIME=5s || status=$$?; fi; \
	$(MAKE) --no-print-directory stop-test-db; \
	exit $$status

fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$name ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

stop-test-db:
	@$(GO) run ./cmd/minyi cluster stop --data "$(MINYI_TEST_DATA)" >/dev/null

# The benchmarks and the simulator are a binary of their own; the soak
# runs bin/minyi's serve beside it. BENCHFLAGS, e.g. "--only scores
# --scale 0.01", for a part or a quick run.
BENCHFLAGS ?=

bench: build
	$(GO) build -o bin/minyi-bench ./cmd/minyi-bench
	./bin/minyi-bench $(BENCHFLAGS)

# Screenshots of the main pages in Chromium, for the README (not part of
# `make test`: the test has a build tag of its own).
screenshots:
	$(GO) test -tags screenshots -count=1 -run '^TestScreenshots$$' ./web -screenshots $(CURDIR)/docs/screenshots
	@$(MAKE) --no-print-directory stop-test-db
