#!/bin/sh
# make deb: builds the Debian packages jwtx and libjwtx-dev (debian/) from a
# copy of the sources in build/deb/src, with dpkg-buildpackage (debhelper),
# and leaves the .deb files and the .changes in build/deb/. Checks first that
# debian/changelog carries the version of the file VERSION.
set -eu
cd "$(dirname "$0")/.."

version=$(cat VERSION)
deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
case "$deb_version" in
"$version" | "$version"-*) ;;
*)
    echo "make deb: debian/changelog has $deb_version, VERSION has $version" >&2
    exit 1
    ;;
esac

out=build/deb
rm -rf "$out"
mkdir -p "$out/src"
# The sources as a checkout has them (nothing built, no build/).
if [ -d .git ] || [ -f .git ]; then
    git ls-files -z --cached --others --exclude-standard |
        xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
        xargs -0 cp --parents -t "$out/src"
else
    tar --exclude=./build --exclude=./lib/libjwtx.a --exclude=./tools/jwtx \
        --exclude='./cgi-bin/*.fcgi' -cf - . | tar -xf - -C "$out/src"
fi
cd "$out/src"
dpkg-buildpackage -b -us -uc -j"$(nproc 2>/dev/null || echo 1)" >../build.log 2>&1 || {
    tail -n 40 ../build.log >&2
    echo "make deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
    exit 1
}
cd ..
rm -rf src
ls -1 "$PWD"/*.deb
