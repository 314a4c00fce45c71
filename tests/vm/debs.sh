# Sourced by the virtual board's build scripts: fetch_deb, Debian packages as .deb files in
# a cache directory (apt-get download), so a rebuild needs no network.

# fetch_deb DIR NAME ARCH [VERSION]: prints the path of NAME's .deb for ARCH ("all" for
# arch-independent packages) in DIR, downloading it when missing. With VERSION, exactly that
# version; without, whichever version DIR holds, else the archive's candidate.
fetch_deb() {
    local dir=$1 name=$2 arch=$3 ver=${4:-} spec=$2 deb
    [ "$arch" = all ] || spec=$name:$arch
    if [ -n "$ver" ]; then
        deb=$dir/${name}_${ver//:/%3a}_$arch.deb
        spec=$spec=$ver
    else
        deb=$(ls "$dir/${name}_"*"_$arch.deb" 2>/dev/null | head -1 || true)
    fi
    if [ -z "$deb" ] || [ ! -e "$deb" ]; then
        mkdir -p "$dir"
        # apt-get download writes to the working directory; as root it warns about _apt.
        (cd "$dir" && apt-get download -q "$spec" >/dev/null 2>&1) ||
            { echo "$(basename "$0"): apt-get download $spec failed" >&2; exit 1; }
        [ -n "$ver" ] || deb=$(ls "$dir/${name}_"*"_$arch.deb" | head -1)
    fi
    echo "$deb"
}
