#!/bin/sh
# Builds build/deb/switchboard_VERSION_ARCH.deb from the optimised build (make deb runs it after
# building): the binary, the man pages, the completions, the systemd unit, the logrotate file
# and /etc/switchboard/switchboard.conf as conffiles; the postinst creates the switchboard
# system user and gives it /var/lib/switchboard (0700). Needs dpkg-deb; dpkg-shlibdeps (dpkg-dev)
# computes the library dependencies when present. Prints the path of the package.
set -eu
cd "$(dirname "$0")/.."

version=$(sed -n 's/^#define SB_VERSION "\(.*\)"/\1/p' src/usage.h)
arch=$(dpkg --print-architecture)
out=build/deb
root=$out/root
deb=$out/switchboard_${version}_${arch}.deb

rm -rf "$root" "$out/work"
mkdir -p "$root/DEBIAN" "$out/work/debian"
umask 022

install -d "$root/usr/bin" "$root/usr/share/man/man1" "$root/usr/share/man/man5" \
    "$root/lib/systemd/system" "$root/etc/logrotate.d" "$root/etc/switchboard" \
    "$root/usr/share/doc/switchboard" "$root/usr/share/bash-completion/completions" \
    "$root/usr/share/zsh/vendor-completions"
install -d -m 0700 "$root/var/lib/switchboard"
install -m 0755 -s build/switchboard "$root/usr/bin/switchboard"
gzip -9n <build/man/switchboard.1 >"$root/usr/share/man/man1/switchboard.1.gz"
gzip -9n <build/man/switchboard.conf.5 >"$root/usr/share/man/man5/switchboard.conf.5.gz"
sed -e 's|/usr/local/bin/switchboard|/usr/bin/switchboard|' \
    -e 's|/usr/local/share/doc/switchboard|/usr/share/doc/switchboard|' contrib/switchboard.service \
    >"$root/lib/systemd/system/switchboard.service"
install -m 0644 contrib/switchboard.logrotate "$root/etc/logrotate.d/switchboard"
# 0640, group switchboard (postinst): it may hold the store's password
install -m 0640 contrib/switchboard.conf "$root/etc/switchboard/switchboard.conf"
install -m 0644 build/completion/switchboard.bash \
    "$root/usr/share/bash-completion/completions/switchboard"
install -m 0644 build/completion/_switchboard "$root/usr/share/zsh/vendor-completions/_switchboard"
chmod 0644 "$root"/usr/share/man/man*/*.gz "$root/lib/systemd/system/switchboard.service"

doc=$root/usr/share/doc/switchboard
cat >"$doc/copyright" <<'COPYRIGHT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: switchboard
Source: the Switchboard repository

Files: *
Copyright: 2026 the Switchboard authors
License: Apache-2.0
 On Debian systems, the full text of the Apache License 2.0 can be found in
 /usr/share/common-licenses/Apache-2.0.
COPYRIGHT
date=$(date -R -u -d "$(sed -n 's/^#define SB_RELEASE_DATE "\(.*\)".*/\1/p' src/usage.h)")
printf '%s\n' "switchboard ($version) unstable; urgency=medium" "" \
    "  * Package built from the repository by make deb." "" \
    " -- Switchboard maintainers <maintainers@switchboard.example.org>  $date" \
    | gzip -9n >"$doc/changelog.gz"
install -m 0644 docs/DEPLOYMENT.md docs/UPGRADING.md "$doc"
chmod 0644 "$doc/copyright" "$doc/changelog.gz"

# library dependencies, as dpkg-shlibdeps finds them (it wants a debian/control)
depends="adduser"
if command -v dpkg-shlibdeps >/dev/null 2>&1; then
    printf 'Source: switchboard\n\nPackage: switchboard\nArchitecture: any\n' \
        >"$out/work/debian/control"
    shlibs=$(cd "$out/work" && dpkg-shlibdeps -O "../root/usr/bin/switchboard" 2>/dev/null |
        sed -n 's/^shlibs:Depends=//p')
    [ -n "$shlibs" ] && depends="$shlibs, adduser"
fi

size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: switchboard
Version: $version
Architecture: $arch
Maintainer: Switchboard maintainers <maintainers@switchboard.example.org>
Installed-Size: $size
Depends: $depends
Section: net
Priority: optional
Description: connections server speaking the Dataiku DSS public API
 Switchboard keeps the named definitions of how to reach databases and
 stores, decides who may use each one and who may read its credentials,
 keeps every secret encrypted and tests connections live. It serves all
 of it over the Dataiku DSS public REST API, so that the DSS Python client
 works against it unchanged.
CONTROL
printf '%s\n' /etc/switchboard/switchboard.conf /etc/logrotate.d/switchboard \
    >"$root/DEBIAN/conffiles"

cat >"$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if ! getent passwd switchboard >/dev/null; then
        adduser --system --group --home /var/lib/switchboard --no-create-home \
            --gecos "Switchboard connections server" switchboard >/dev/null
    fi
    chown switchboard:switchboard /var/lib/switchboard
    chmod 0700 /var/lib/switchboard
    chgrp switchboard /etc/switchboard/switchboard.conf
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload >/dev/null 2>&1 || true
    fi
fi
exit 0
POSTINST
cat >"$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
# the data directory (store, master key, audit trail) is kept, even on purge: delete it by hand
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
POSTRM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"

(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort |
    xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
