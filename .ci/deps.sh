#!/bin/sh
# Install the Debian 12 packages promptpix builds, runs and tests with,
# when any is missing. Needs root (or sudo) only if something is missing.
set -eu
# clang, libclang-rt-14-dev (its sanitizer and libFuzzer runtimes) and
# llvm (llvm-symbolizer, for readable reports): make test's sanitizer
# pass and make fuzz. galera-4 and rsync (its state transfer, with ss
# from iproute2): the two-node cluster of tests/e2e/test_galera.py.
# chromium and chromium-driver: the pages' tests in a real browser
# (tests/e2e/test_pages.py, through tests/lib/browser.py).
# python3-swift (OpenStack Swift with its s3api middleware) and
# memcached (which s3api needs): a real S3-compatible object store for
# the S3 client's tests (tests/lib/swift.py).
# debhelper and dpkg-dev: make deb, and tests/e2e/test_deb.py, which
# builds, installs, upgrades and purges the package. openssl and curl:
# the install guides' own commands, which tests/e2e/test_deploy.py runs
# (a self-signed certificate, the requests over TLS); git: make deb's
# version and the package test's copy of the checkout.
PKGS="build-essential pkg-config python3 libfcgi-dev spawn-fcgi
default-libmysqlclient-dev libssl-dev libjson-c-dev libinih-dev libgd-dev
libcurl4-openssl-dev fonts-dejavu-core mariadb-server mariadb-client nginx-light
apache2 libapache2-mod-fcgid libapache2-mod-xsendfile wrk
clang libclang-rt-14-dev llvm galera-4 rsync iproute2
chromium chromium-driver debhelper dpkg-dev openssl curl git
python3-swift memcached"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Packaged services must not start on their own: the tests and the demo
# run private instances on their own ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
