#!/bin/sh
# Builds build/tund_VERSION_ARCH.deb from build/tund and build/tundctl (make
# deb runs it after building them): stages the file tree, computes the
# library dependencies with dpkg-shlibdeps and packs it with dpkg-deb.
# Usage: packaging/deb/build.sh [OUTDIR]   (run from the top of the tree)
set -eu

out=${1:-build}
pkg=packaging
arch=$(dpkg --print-architecture)
# 0~gitDATE.HASH sorts before any 0.x release; 0~dev outside a git checkout.
version=$(git log -1 --format='0~git%cd.%h' --date=format:%Y%m%d 2>/dev/null || echo 0~dev)
# The project has no mailing address yet: set DEB_MAINTAINER="NAME <MAIL>"
# for a package others install.
maintainer=${DEB_MAINTAINER:-tund developers <tund@invalid>}
work=$out/deb
stage=$work/root
rm -rf "$work"
mkdir -p "$stage/DEBIAN"

install -D -m 0755 build/tund "$stage/usr/sbin/tund"
install -D -m 0755 build/tundctl "$stage/usr/bin/tundctl"
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$stage/usr/sbin/tund" "$stage/usr/bin/tundctl"
install -D -m 0644 $pkg/tund.service "$stage/lib/systemd/system/tund.service"
install -D -m 0644 $pkg/tund.conf "$stage/etc/tund/tund.conf"
install -D -m 0644 $pkg/tund.conf "$stage/usr/share/doc/tund/examples/tund.conf"
install -D -m 0644 $pkg/deb/copyright "$stage/usr/share/doc/tund/copyright"
install -D -m 0644 README.md "$stage/usr/share/doc/tund/README.md"
for page in doc/man/tund.8 doc/man/tundctl.8 doc/man/tund.conf.5; do
	dir=$stage/usr/share/man/man${page##*.}
	install -d "$dir"
	gzip -9n <"$page" >"$dir/$(basename "$page").gz"
	chmod 0644 "$dir/$(basename "$page").gz"
done

# A native package's changelog: one entry for the commit it was built from.
{
	printf 'tund (%s) unstable; urgency=medium\n\n' "$version"
	printf '  * Built from %s.\n\n' "$(git log -1 --format='commit %h' 2>/dev/null || echo 'a source tree')"
	printf ' -- %s  %s\n' "$maintainer" \
		"$(git log -1 --format=%cD 2>/dev/null || date -R)"
} | gzip -9n >"$stage/usr/share/doc/tund/changelog.gz"
chmod 0644 "$stage/usr/share/doc/tund/changelog.gz"

# dpkg-shlibdeps wants a debian/control naming the package.
mkdir -p "$work/src/debian"
printf 'Source: tund\n\nPackage: tund\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O -e../root/usr/sbin/tund -e../root/usr/bin/tundctl)
depends="${shlibs#shlibs:Depends=}, adduser, procps"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)

sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
	-e "s/@DEPENDS@/$depends/" -e "s|@MAINTAINER@|$maintainer|" \
	$pkg/deb/control.in >"$stage/DEBIAN/control"
# Checksums of the files dpkg does not track as conffiles (dpkg --verify).
(cd "$stage" && find usr lib -type f -print0 | sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
install -m 0644 $pkg/deb/conffiles "$stage/DEBIAN/conffiles"
chmod 0644 "$stage/DEBIAN/md5sums"
install -m 0755 $pkg/deb/postinst $pkg/deb/prerm $pkg/deb/postrm "$stage/DEBIAN/"

deb=$out/tund_${version}_${arch}.deb
rm -f "$out"/tund_*.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
