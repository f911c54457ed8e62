#!/usr/bin/env bash
# run.sh - build and run every libFuzzer target in tests/fuzz/.
#
#   tests/fuzz/run.sh SECONDS [NAME...]
#
# Each tests/fuzz/fuzz_<name>.c is a libFuzzer target. It names the project
# sources it needs on a comment line:
#     // fuzz-sources: app/core/config.c app/core/err.c
# (several such lines add up, to keep lines short) and, optionally, extra
# pkg-config packages it links against:
#     // fuzz-libs: libcurl
# and plain linker flags for libraries without pkg-config:
#     // fuzz-ldlibs: -lcsv
# Targets are built with clang (-fsanitize=fuzzer,address,undefined) into
# build/fuzz/ and each runs for SECONDS / <number of targets> seconds (at
# least 5). The seed corpus tests/fuzz/corpus/<name>/ is copied into a
# scratch directory, so new inputs never land in the repository; a crash
# input is kept in build/fuzz/artifacts/<name>/. Exits non-zero if any
# target fails to build or crashes.
set -u

cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
SECONDS_TOTAL=${1:-60}
shift || true
if ! [[ "$SECONDS_TOTAL" =~ ^[0-9]+$ ]]; then
    echo "usage: tests/fuzz/run.sh SECONDS [NAME...]" >&2
    exit 2
fi

CC=${FUZZ_CC:-clang}
OUT=$ROOT/build/fuzz
mkdir -p "$OUT"

targets=()
if [ $# -gt 0 ]; then
    for n in "$@"; do targets+=("tests/fuzz/fuzz_$n.c"); done
else
    for f in tests/fuzz/fuzz_*.c; do [ -e "$f" ] && targets+=("$f"); done
fi
count=${#targets[@]}
if [ "$count" -eq 0 ]; then
    echo "fuzz: 0 passed, 0 failed"
    exit 0
fi
per=$((SECONDS_TOTAL / count))
[ "$per" -lt 5 ] && per=5

if ! command -v "$CC" >/dev/null; then
    echo "fuzz: $CC not found" >&2
    echo "fuzz: 0 passed, $count failed"
    exit 1
fi

# Headers from libpq are always on the include path (db.h needs them); its
# library is linked when a listed source includes db.h or libpq-fe.h.
PQ_CFLAGS="$(pkg-config --cflags libpq 2>/dev/null) -I$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)"
PQ_LIBS="$(pkg-config --libs libpq 2>/dev/null || echo -lpq)"

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

passed=0
failed=0
for src in "${targets[@]}"; do
    base=$(basename "$src" .c)
    name=${base#fuzz_}
    bin=$OUT/$base
    blog=$OUT/$name.build.log
    rlog=$OUT/$name.log

    if [ ! -f "$src" ]; then
        echo "fuzz $name: no such target $src"
        failed=$((failed + 1))
        continue
    fi
    sources=$(sed -n 's|^// *fuzz-sources: *||p' "$src" | tr '\n' ' ')
    pkgs=$(sed -n 's|^// *fuzz-libs: *||p' "$src" | head -1)
    ldlibs=$(sed -n 's|^// *fuzz-ldlibs: *||p' "$src" | head -1)  # plain -l flags
    extra_cflags=$PQ_CFLAGS
    extra_libs=""
    for s in $sources; do
        if [ ! -f "$s" ]; then
            echo "fuzz-sources: $s does not exist" >"$blog"
            sources="__missing__"
            break
        fi
        if grep -Eq '#include *[<"](db\.h|libpq-fe\.h)[>"]' "$s"; then
            extra_libs=$PQ_LIBS
        fi
    done
    if [ -n "$pkgs" ]; then
        extra_cflags="$extra_cflags $(pkg-config --cflags $pkgs 2>/dev/null)"
        extra_libs="$extra_libs $(pkg-config --libs $pkgs 2>/dev/null)"
    fi

    # shellcheck disable=SC2086
    if [ "$sources" = "__missing__" ] ||
        ! "$CC" -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer -D_GNU_SOURCE -Iapp -Iapp/core $extra_cflags \
            -DSLUICE_VERSION='"fuzz"' -DSLUICE_GITREV='"fuzz"' \
            -o "$bin" "$src" $sources -ljansson -lsodium $extra_libs $ldlibs -lm >"$blog" 2>&1; then
        echo "fuzz $name: build failed (see $blog)"
        sed -n '1,20p' "$blog" | sed 's/^/    /'
        failed=$((failed + 1))
        continue
    fi

    corpus=$SCRATCH/$name
    mkdir -p "$corpus"
    [ -d "tests/fuzz/corpus/$name" ] && cp -R "tests/fuzz/corpus/$name/." "$corpus/"
    artifacts=$OUT/artifacts/$name
    mkdir -p "$artifacts"
    dict=()
    [ -f "tests/fuzz/$name.dict" ] && dict=("-dict=tests/fuzz/$name.dict")

    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
        "$bin" -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "${dict[@]}" "$corpus" >"$rlog" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$rlog" | tail -1)
    [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$rlog" | tail -1)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $name: ok (${runs:-?} runs)"
        passed=$((passed + 1))
    else
        crash=$(sed -n 's/^artifact_prefix=.*; Test unit written to \(.*\)$/\1/p' "$rlog" | tail -1)
        echo "fuzz $name: CRASH (exit $rc${crash:+, input $crash}; log $rlog)"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error:|    #[0-4] )' "$rlog" | head -15 |
            sed 's/^/    /'
        failed=$((failed + 1))
    fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
