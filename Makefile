# alicert — the two commands that matter: `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export PEBBLE_VA_NOSLEEP := 1

.PHONY: all deps build demo test lint unit integration package clean

all: build

# Everything the tests and the demo need that cargo does not bring: Pebble (the real ACME
# server used in tests) and its DNS test server, from Debian.
deps:
	@if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null; then \
	  echo "installing pebble (Debian package)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pebble; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pebble; fi; \
	fi
	@command -v cargo-clippy >/dev/null || rustup component add clippy rustfmt 2>/dev/null || true

build:
	$(CARGO) build --bins --examples

# A full local issuance: Pebble + challtestsrv + the Alibaba Cloud emulator, `alicert invoke`,
# the result JSON printed, everything stopped.
demo: deps build
	./target/debug/examples/demo

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets -- -D warnings

test: deps lint
	$(CARGO) test --all-targets

package:
	$(CARGO) build --release --bin alicert
	rm -rf dist/pkg && mkdir -p dist/pkg
	cp target/release/alicert bootstrap dist/pkg/
	cp alicert.example.toml dist/pkg/
	# Your own alicert.toml (beside this Makefile) goes in too; the function finds it beside the binary.
	if [ -f alicert.toml ]; then cp alicert.toml dist/pkg/; fi
	chmod 755 dist/pkg/bootstrap dist/pkg/alicert
	rm -f dist/alicert-fc.zip
	cd dist/pkg && python3 -c 'import sys, zipfile; z = zipfile.ZipFile("../alicert-fc.zip", "w", zipfile.ZIP_DEFLATED); [z.write(f) for f in sys.argv[1:]]; z.close()' $$(ls)
	@ls -l dist/alicert-fc.zip

clean:
	$(CARGO) clean
	rm -rf dist
