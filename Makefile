# alicert — the two commands that matter: `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export PEBBLE_VA_NOSLEEP := 1

.PHONY: all deps build demo test test-browser lint unit integration release package check-package bench bench-deps clean policy

# The release binary is built with cargo-zigbuild against glibc 2.17 symbols, so the zip runs on
# FC's oldest custom runtime (Debian 9, glibc 2.24) as well as custom.debian10 (glibc 2.28).
RELEASE_TARGET := x86_64-unknown-linux-gnu
RELEASE_GLIBC := 2.17
RELEASE_BIN := target/$(RELEASE_TARGET)/release/alicert
ZIG_VENV := target/zig-venv
CERTBOT_VENV := target/bench/certbot-venv

all: build

# Everything the tests and the demo need that cargo does not bring: Pebble (the real ACME
# server used in tests) and its DNS test server, from Debian; script(1) (bsdutils, essential
# in Debian) gives tests/init_interactive.rs a terminal.
deps:
	@if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null || ! command -v script >/dev/null; then \
	  scripts/apt-install.sh pebble bsdutils; \
	fi
	@command -v cargo-clippy >/dev/null || rustup component add clippy rustfmt 2>/dev/null || true

build:
	$(CARGO) build --bins --examples

# A full local issuance: Pebble + challtestsrv + the Alibaba Cloud emulator, `alicert invoke`,
# the result JSON printed, everything stopped.
demo: deps build
	./target/debug/examples/demo

# README's "RAM policy" block and template.yml's role policy, regenerated from
# alicert.example.toml (= `alicert policy --config alicert.example.toml`); the policy test fails
# when they differ.
policy:
	ALICERT_REGENERATE_POLICY=1 $(CARGO) test --test policy documented_policies

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: deps lint
	$(CARGO) test --workspace --all-targets

# The HTML report rendered by headless Chromium (Debian package `chromium`, installed when
# missing): DOM checks, no network request, screenshots in target/report-screenshot*.png.
# Fails when chromium cannot be installed.
test-browser: deps
	@if ! command -v chromium >/dev/null; then \
	  scripts/apt-install.sh chromium; \
	fi
	command -v chromium >/dev/null
	$(CARGO) test --test report -- --ignored browser_renders_the_report
	@ls -l target/report-screenshot*.png

# cargo-zigbuild and zig (PyPI packages cargo-zigbuild, ziglang) in a venv under target/, pinned:
# the release binary, and the sizes check-package holds it to, do not move with a new zig.
release:
	@scripts/venv.sh $(ZIG_VENV) cargo-zigbuild==0.24.1 ziglang==0.17.1
	# relocation-model=static: a non-PIE executable, without the 350 KB of load-time relocations
	# (.rela.dyn) a PIE carries. The trade: the executable's own code loads at a fixed address
	# (no ASLR for it; libraries and stack keep theirs), acceptable for memory-safe code in FC's
	# sandbox. Only this build: tests and `make demo` use the default.
	# scripts/no-unwind-tables.ld: no .eh_frame/.eh_frame_hdr (850 KB, 13% of the binary). With
	# panic = "abort" nothing unwinds; a panic still prints its message and file:line, and only
	# the backtrace, already bare addresses in this stripped binary, comes out empty.
	# (`-C force-unwind-tables=no` does not help: rustc gives every function a personality.)
	# --remap-path-prefix: panic locations name `tokio-1.54.1/src/...`, not the build machine's
	# cargo registry path (shorter, and the same binary whoever builds it). `cargo fetch` first,
	# so that the registry's source folders exist when they are listed.
	$(CARGO) fetch -q --target $(RELEASE_TARGET)
	PATH="$(CURDIR)/$(ZIG_VENV)/bin:$$PATH" \
	  RUSTFLAGS="-C relocation-model=static -C link-arg=-Wl,-T,$(CURDIR)/scripts/no-unwind-tables.ld \
	  $$(for d in $${CARGO_HOME:-$$HOME/.cargo}/registry/src/*/; do printf -- '--remap-path-prefix=%s= ' "$$d"; done) \
	  --remap-path-prefix=$(CURDIR)/=" \
	  $(CARGO) zigbuild --release --bin alicert \
	  --target $(RELEASE_TARGET).$(RELEASE_GLIBC)

package: release
	rm -rf dist/pkg && mkdir -p dist/pkg
	cp $(RELEASE_BIN) bootstrap dist/pkg/
	cp alicert.example.toml dist/pkg/
	# Your own alicert.toml (beside this Makefile) goes in too; the function finds it beside the binary.
	if [ -f alicert.toml ]; then cp alicert.toml dist/pkg/; fi
	chmod 755 dist/pkg/bootstrap dist/pkg/alicert
	rm -f dist/alicert-fc.zip
	cd dist/pkg && python3 -c 'import sys, zipfile; z = zipfile.ZipFile("../alicert-fc.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9); [z.write(f) for f in sys.argv[1:]]; z.close()' $$(ls)
	# advzip (Debian advancecomp) recompresses each entry with zopfli: still plain deflate, which
	# every unzip (FC's among them) reads, about 3% smaller than zlib's level 9.
	@if ! command -v advzip >/dev/null; then \
	  scripts/apt-install.sh advancecomp; \
	fi
	advzip --recompress -4 -q dist/alicert-fc.zip
	@ls -l dist/alicert-fc.zip

# glibc symbol versions <= 2.24, binary <= 6 MB stripped, zip <= 2.5 MB, and the unpacked zip serves FC's contract. Run by
# .ci/run after `make test` (the LTO release build takes minutes; `make test` stays fast).
check-package: package
	scripts/check-package.sh dist/alicert-fc.zip $(RELEASE_BIN)

# lego (Debian package) and certbot (PyPI, in a venv under target/) for `make bench`.
bench-deps: deps
	@if ! command -v lego >/dev/null || ! command -v curl >/dev/null || [ ! -x /usr/bin/time ]; then \
	  scripts/apt-install.sh lego curl time; \
	fi
	@scripts/venv.sh $(CERTBOT_VENV) certbot

# alicert (the release binary that `make package` ships) vs lego vs certbot on Pebble, plus
# alicert's scale and cold start; prints the tables, also written to target/bench/results.md.
bench: bench-deps package
	CARGO_TARGET_DIR=target/bench/harness $(CARGO) build --profile bench-harness --example bench
	./target/bench/harness/bench-harness/examples/bench --alicert $(RELEASE_BIN) --lego "$$(command -v lego)" \
	  --certbot $(CERTBOT_VENV)/bin/certbot --zip dist/alicert-fc.zip $(BENCH_ARGS)

clean:
	$(CARGO) clean
	rm -rf dist
