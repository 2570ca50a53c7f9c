# The two commands a newcomer needs: `make demo` and `make test`.
GO ?= go
# Tests share one throwaway PostgreSQL cluster, started by the first test
# package that needs it and stopped at the end of `make test`.
export MINYI_TEST_DATA ?= $(CURDIR)/var/test

.PHONY: demo test bench build lint fuzz stop-test-db

demo:
	$(GO) run ./cmd/minyi demo

build:
	$(GO) build -o bin/minyi ./cmd/minyi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet ./...

test: lint
	@status=0; $(GO) test -count=1 -timeout 20m ./... || status=$$?; \
	$(MAKE) --no-print-directory stop-test-db; exit $$status

stop-test-db:
	@$(GO) run ./cmd/minyi cluster stop --data "$(MINYI_TEST_DATA)" >/dev/null

bench: build
	./bin/minyi bench
