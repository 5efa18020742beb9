#!/bin/sh
# haprepro: builds HAProxy from source inside the builder container.
#
# Inputs (copied in before start): /in/source.tar[.gz|.xz|.bz2] (a git archive or a release
# tarball), optionally /in/debian.tar.xz (Debian's packaging, whose patch series is applied)
# and /in/patches/NN-*.patch (applied in order, -p1). Environment: MAKE_VARS (the profile's
# switches), JOBS, VERSION_FALLBACK (for a git archive whose VERSION file was not filled in).
# Output: /out/haproxy and /out/haproxy-vv.txt.
#
# The exit code says which stage failed, so the harness can name it without parsing text:
# 10 not a HAProxy source tree, 11 a Debian patch did not apply, 12 a --patch did not apply,
# 13 make failed, 14 the binary does not run. The tree is always unpacked at /build/src:
# the compiler cache hashes the working directory into its keys (-g).
set -u
stage() { echo "haprepro-stage: $*"; }
fail() { code=$1; shift; echo "haprepro-error: $*"; exit "$code"; }

stage unpack
mkdir -p /build/x /out
src=$(ls /in/source.* 2>/dev/null | head -n 1)
[ -n "$src" ] || fail 10 "no source archive was given"
tar -xf "$src" -C /build/x 2>/out/tar.err || fail 10 "cannot unpack the source archive: $(head -c 300 /out/tar.err)"
top=/build/x
if [ ! -f "$top/Makefile" ]; then
    set -- /build/x/*
    if [ $# -eq 1 ] && [ -d "$1" ]; then top=$1; fi
fi
if [ ! -f "$top/Makefile" ] || [ ! -f "$top/src/haproxy.c" ]; then
    fail 10 "not a HAProxy source tree: no Makefile and src/haproxy.c at its top (found: $(ls "$top" | head -n 12 | tr '\n' ' '))"
fi
mv "$top" /build/src
cd /build/src || exit 1

if [ -f /in/debian.tar.xz ]; then
    stage debian-patches
    tar -xf /in/debian.tar.xz -C /build/src || fail 11 "cannot unpack Debian's packaging tarball"
    if [ -f debian/patches/series ]; then
        while read -r name opts; do
            case "$name" in ''|'#'*) continue ;; esac
            echo "applying Debian patch $name ${opts:--p1}"
            patch ${opts:--p1} --forward --batch --no-backup-if-mismatch < "debian/patches/$name" \
                || fail 11 "Debian patch $name does not apply"
        done < debian/patches/series
    fi
fi

if [ -d /in/patches ]; then
    stage patches
    for p in /in/patches/*; do
        [ -f "$p" ] || continue
        name=$(basename "$p" | cut -d- -f2-)
        echo "applying $name"
        patch -p1 --forward --batch --no-backup-if-mismatch < "$p" || fail 12 "patch $name does not apply"
    done
fi

version_var=""
if [ -n "${VERSION_FALLBACK:-}" ] && { [ ! -s VERSION ] || grep -q 'Format:' VERSION; }; then
    version_var="VERSION=$VERSION_FALLBACK"
    echo "VERSION is not filled in; using $VERSION_FALLBACK"
fi

stage make
# The tree is unpacked afresh for every build, so each header's ctime is "too new" for ccache's
# direct mode, which then preprocesses every file. Header contents are still hashed; only their
# times are ignored. This helps builds of one version (a commit with and without a --patch, or
# another profile).
export CCACHE_DIR=/ccache CCACHE_BASEDIR=/build/src CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-3G}
export CCACHE_SLOPPINESS=include_file_mtime,include_file_ctime
# Between commits, HAProxy's Makefile passes the version to every file
# (-DCONFIG_HAPROXY_VERSION="3.3-dev8-822ee90dc", and the date), so every command line differs
# and direct mode never hits. Only a few files use it: those naming the version macros, or a
# macro defined from them (STATS_VERSION_STRING), found to a fixpoint over the tree's defines.
# Those are compiled with the version in their cache key; every other file without it, so a
# neighbouring commit's unchanged files are direct hits. `haproxy -vv` below shows the version
# the binary really carries.
# The compiler make runs is a wrapper named gcc, first on PATH, so the binary's `haproxy -vv`
# says `CC = gcc` as a maintainer's own build would (HAProxy prints the CC it was built with).
real_gcc=$(command -v gcc) || fail 13 "no gcc in the builder image"
mkdir -p /build/bin
printf '#!/bin/sh\nexec ccache %s "$@"\n' "$real_gcc" > /build/bin/gcc
if ccache --get-config ignore_options >/dev/null 2>&1; then
    tokens="CONFIG_HAPROXY_VERSION CONFIG_HAPROXY_DATE HAPROXY_VERSION HAPROXY_DATE"
    defines=$(find . -name '*.[ch]' -exec cat {} + 2>/dev/null | tr -d '\000' | sed -e ':a' -e '/\\$/{N;s/\\\n/ /;ba}' \
        | grep -aE '^[[:space:]]*#[[:space:]]*define[[:space:]]+[A-Za-z_][A-Za-z0-9_]*' || true)
    while :; do
        pattern=$(echo "$tokens" | tr ' ' '|')
        more=$(echo "$defines" | grep -awE "$pattern" \
            | sed -E 's/^[[:space:]]*#[[:space:]]*define[[:space:]]+([A-Za-z_][A-Za-z0-9_]*).*/\1/' \
            | sort -u | grep -vxF "$(echo "$tokens" | tr ' ' '\n')" || true)
        [ -n "$more" ] || break
        tokens="$tokens $(echo "$more" | tr '\n' ' ')"
        tokens=$(echo "$tokens" | xargs)
    done
    pattern=$(echo "$tokens" | tr ' ' '|')
    find . -name '*.c' -exec grep -alwE "$pattern" {} + 2>/dev/null | sed 's|^\./||' > /build/version-users
    echo "haprepro-version-users: $(wc -l < /build/version-users) file(s) use the version ($(tr '\n' ' ' < /build/version-users | head -c 300))"
    cat > /build/bin/gcc <<CC
#!/bin/sh
for arg; do case "\$arg" in *.c) src=\$arg ;; esac; done
if [ -n "\${src:-}" ] && grep -qxF "\${src#./}" /build/version-users; then
    exec ccache $real_gcc "\$@"
fi
CCACHE_IGNOREOPTIONS="-DCONFIG_HAPROXY_VERSION=* -DCONFIG_HAPROXY_DATE=*" exec ccache $real_gcc "\$@"
CC
fi
chmod +x /build/bin/gcc
export PATH="/build/bin:$PATH"
cc=gcc
ccache -z >/dev/null 2>&1
started=$(date +%s%N)
# shellcheck disable=SC2086
make -j"${JOBS:-2}" TARGET=linux-glibc CC="$cc" $MAKE_VARS $version_var \
    || fail 13 "make failed"
echo "haprepro-make-ms: $(( ($(date +%s%N) - started) / 1000000 ))"
# ccache 4.4+ prints "Hits: 3 / 154"; older ones "cache hit (direct) 3" and "cache miss 151".
echo "haprepro-ccache: $(ccache -s 2>/dev/null | awk '
    /^ *Hits:/ && !h { h = $2 "/" $4 } /^ *Misses:/ && !m { m = $2 "/" $4 }
    /^cache hit \(direct\)/ { d = $NF } /^cache hit \(preprocessed\)/ { p = $NF } /^cache miss/ { m = $NF }
    END { if (h == "" && (d != "" || p != "")) h = d + p; printf "hits %s, misses %s", h, m }')"

stage check
cp haproxy /out/haproxy || fail 13 "make left no haproxy binary"
./haproxy -vv > /out/haproxy-vv.txt 2>&1 || fail 14 "the built haproxy does not run: $(head -c 300 /out/haproxy-vv.txt)"
head -n 1 /out/haproxy-vv.txt
stage done
