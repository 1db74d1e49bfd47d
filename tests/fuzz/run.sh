#!/bin/sh
# make fuzz: run each libFuzzer target for a bounded time and print its
# figures. Usage: run.sh FUZZDIR SECONDS TARGET...
# Seeds come from tests/fuzz/corpus/<target>/ (read-only); what the
# fuzzer finds goes to FUZZDIR/work-<target>/, crashes to
# FUZZDIR/crash-<target>-*. Exits 1 if any target crashed.
set -u
dir=$1 secs=$2
shift 2
here=$(dirname "$0")
failed=""
for t in "$@"; do
	work="$dir/work-$t"
	log="$dir/$t.log"
	mkdir -p "$work"
	dict=""
	[ -f "$here/$t.dict" ] && dict="-dict=$here/$t.dict"
	# A memory error, UB, an invariant, a leak, a 10 s input or 2 GB
	# are all crashes.
	"$dir/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
	    -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="$dir/crash-$t-" $dict \
	    "$work" "$here/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	units=$(ls "$work" | wc -l)
	if [ $rc -eq 0 ]; then
		echo "fuzz_$t: ${execs:-?} executions in ${secs}s" \
		    "(${speed:-?}/s), $cov, $units new inputs, no crash"
	else
		echo "fuzz_$t: CRASH after ${execs:-?} executions (exit $rc);" \
		    "log $log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)|Test unit written' \
		    "$log" | head -5
		failed="$failed $t"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: crashed:$failed"
	exit 1
fi
echo "fuzz: $# targets, no crash"
