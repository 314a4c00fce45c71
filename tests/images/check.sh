#!/usr/bin/env bash
# Buildroot and Yocto cannot run here, so their package files are checked against the rest of
# the tree: board/buildroot's Config.in selects, robotd.mk's dependencies and the Yocto
# recipe's DEPENDS name exactly the libraries the Makefile's system mode (SYSTEM_LIBS=1) links,
# both ways; both install exactly the documented paths; the fragments keep OpenSSL out.
# TAP output, with node's "# pass N / # fail N" trailer (tests/run-all.sh counts it).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
BR=board/buildroot
YO=board/yocto/meta-robotd
BB=$YO/recipes-robot/robotd/robotd_git.bb
n=0 pass=0 fail=0

check() {  # name expected actual: each a sorted, newline-separated set
    n=$((n + 1))
    if [ "$2" = "$3" ]; then
        pass=$((pass + 1)); echo "ok $n - $1"
    else
        fail=$((fail + 1)); echo "not ok $n - $1"
        echo "  # only expected: $(comm -23 <(echo "$2") <(echo "$3") | tr '\n' ' ')"
        echo "  # only found:    $(comm -13 <(echo "$2") <(echo "$3") | tr '\n' ' ')"
    fi
}
set_of() { tr ' \t' '\n\n' | sed '/^$/d' | sort -u; }
# A make/bitbake file with its backslash continuations joined.
joined() { sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' "$1"; }

# ---- what the Makefile's system mode links ------------------------------------------------
# SYSTEM_PC_MODULES always; of SYSTEM_PC_OPTIONAL, mbedtls always (by .pc or -l flags) and
# libavdevice when the FFmpeg has it (part of the ffmpeg package either way).
make_var() { joined Makefile | sed -n "s/^$1 := //p" | head -n 1; }
modules="$(make_var SYSTEM_PC_MODULES) $(make_var SYSTEM_PC_OPTIONAL)"
[ -n "$(make_var SYSTEM_PC_MODULES)" ] || { echo "Bail out! no SYSTEM_PC_MODULES in the Makefile"; exit 1; }

# pkg-config module -> Buildroot option(s) | Buildroot package | Yocto recipe.
map() {
    case "$1" in
        libwebsockets) echo "LIBWEBSOCKETS|libwebsockets|libwebsockets" ;;
        mbedtls) echo "MBEDTLS|mbedtls|mbedtls" ;;
        libcjson) echo "CJSON|cjson|cjson" ;;
        inih) echo "LIBINIH|libinih|libinih" ;;
        alsa) echo "ALSA_LIB|alsa-lib|alsa-lib" ;;
        libgpiod) echo "LIBGPIOD|libgpiod|libgpiod" ;;
        libavformat | libavcodec | libavutil | libswresample | libavdevice) echo "FFMPEG|ffmpeg|ffmpeg" ;;
        libswscale) echo "FFMPEG FFMPEG_SWSCALE|ffmpeg|ffmpeg" ;;
        *) echo "UNMAPPED_$1|unmapped-$1|unmapped-$1" ;;
    esac
}
want_br="" want_pkg="" want_yocto=""
for m in $modules; do
    IFS='|' read -r b p y <<<"$(map "$m")"
    for o in $b; do want_br="$want_br BR2_PACKAGE_$o"; done
    want_pkg="$want_pkg $p" want_yocto="$want_yocto $y"
done

# Selected for what robotd needs at run time, not linked: allowed beyond the libraries.
RUNTIME_ONLY_BR="BR2_PACKAGE_CA_CERTIFICATES"
got_br=$(awk '$1 == "select" { print $2 }' $BR/package/robotd/Config.in | set_of |
    grep -vxF -f <(echo $RUNTIME_ONLY_BR | set_of))
check "Buildroot Config.in selects exactly the libraries SYSTEM_LIBS=1 links" \
    "$(echo $want_br | set_of)" "$got_br"

got_pkg=$(joined $BR/package/robotd/robotd.mk | sed -n 's/^ROBOTD_DEPENDENCIES *+\{0,1\}= *//p' |
    set_of | grep -vx 'host-pkgconf')
check "Buildroot ROBOTD_DEPENDENCIES are exactly those libraries' packages" \
    "$(echo $want_pkg | set_of)" "$got_pkg"

got_yocto=$(joined $BB | sed -n 's/^DEPENDS *+\{0,1\}= *"\(.*\)"/\1/p' | set_of)
check "Yocto DEPENDS are exactly those libraries' recipes" \
    "$(echo $want_yocto | set_of)" "$got_yocto"

# ---- installed paths ---------------------------------------------------------------------
# Files only (directories robotd's state lives in are made, not installed from the tree). The
# unit goes to /usr/lib/systemd/system (Debian's package: /lib/systemd/system).
documented="/usr/bin/robotd /etc/robotd/robotd.conf /usr/lib/systemd/system/robotd.service /etc/init.d/S90robotd"
br_paths=$(joined $BR/package/robotd/robotd.mk | grep -E '^\s*\$\(INSTALL\)' | grep -v ' -d ' |
    grep -o '\$(TARGET_DIR)[^ ]*' | sed 's/^\$(TARGET_DIR)//' | set_of)
check "Buildroot installs exactly the documented paths" "$(echo $documented | set_of)" "$br_paths"

yocto_paths=$(joined $BB | grep -E '^\s*install ' | grep -v ' -d ' | grep -o '\${D}[^ ]*' |
    sed -e 's/^\${D}//' -e 's#\${bindir}#/usr/bin#' -e 's#\${sysconfdir}#/etc#' \
        -e 's#\${systemd_system_unitdir}#/usr/lib/systemd/system#' | set_of)
check "Yocto installs exactly the documented paths" "$(echo $documented | set_of)" "$yocto_paths"

conffiles=$(sed -n 's/^CONFFILES:${PN} = "\(.*\)"/\1/p' $BB | sed 's#\${sysconfdir}#/etc#' | set_of)
check "Yocto marks the config a conffile" "/etc/robotd/robotd.conf" "$conffiles"

# Each README says what its recipe installs.
for r in $BR/README.md board/yocto/README.md; do
    missing=""
    for p in $documented; do grep -qF "$p" "$r" || missing="$missing $p"; done
    check "$r names every installed path" "" "$(echo $missing | set_of)"
done

# ---- TLS: mbedTLS in, OpenSSL out ----------------------------------------------------------
for f in $BR/configs/*.fragment; do
    got=$(grep -E '^(# )?BR2_PACKAGE_(OPENSSL|MBEDTLS|ROBOTD)[ =]' "$f" | set_of)
    check "$(basename "$f") keeps OpenSSL out and enables mbedTLS and robotd" \
        "$(printf '%s\n' '#' BR2_PACKAGE_OPENSSL is not set BR2_PACKAGE_MBEDTLS=y BR2_PACKAGE_ROBOTD=y | set_of)" \
        "$(echo $got | set_of)"
done
bbappend=$YO/recipes-connectivity/libwebsockets/libwebsockets_%.bbappend
got=$(grep -oE 'LWS_WITH_MBEDTLS=ON|LWS_ROLE_MQTT=ON|:remove = "ssl"|:append = " mbedtls mqtt"' "$bbappend" | sort -u)
check "the libwebsockets bbappend builds lws with mbedTLS and MQTT instead of OpenSSL" \
    "$(printf '%s\n' 'LWS_WITH_MBEDTLS=ON' 'LWS_ROLE_MQTT=ON' ':remove = "ssl"' ':append = " mbedtls mqtt"' | sort -u)" "$got"

echo "1..$n"
echo "# pass $pass"
echo "# fail $fail"
[ "$fail" -eq 0 ]
