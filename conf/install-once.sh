#!/bin/sh
# install-once.sh MODE SRC DEST: install a file the operator may edit
# (the config, the unit, a web server's site) without ever overwriting
# it. DEST missing: SRC is installed there. DEST the same as SRC:
# nothing to do. DEST different (edited, or from an older version):
# DEST is kept and SRC goes beside it as DEST.dist, and a line says so.
set -eu
mode=$1 src=$2 dest=$3
if [ ! -e "$dest" ]; then
	install -m "$mode" "$src" "$dest"
elif cmp -s "$src" "$dest"; then
	rm -f "$dest.dist"
else
	install -m "$mode" "$src" "$dest.dist"
	echo "make install: kept $dest, which differs from this version's;" \
	    "the new one is $dest.dist (compare: diff -u $dest $dest.dist)"
fi
