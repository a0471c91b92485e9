#!/usr/bin/env bash
# hang_test.sh REPLAY INPUT: runs a fuzz target's replay binary on one input on which
# libhdf5 never returns (tests/fuzz/hangs/) and expects pixelmill's watchdog to end it:
# a non-zero status and the one-line message that names the attribute and the damage.
# Without the watchdog the replay hangs and CTest's timeout fails the test.
set -u
replay=$1 input=$2
out=$(PM_HDF5_READ_TIMEOUT_S=2 "$replay" "$input" 2>&1)
rc=$?
# The replay's copy of the input (TempFile, /dev/shm or /tmp) outlives a process that
# ends in the middle of it: remove the one the message names.
leftover=$(grep -o "'[^']*/pm-fuzz-[A-Za-z0-9]*\.h5'" <<<"$out" | head -n 1 | tr -d "'")
[ -n "$leftover" ] && rm -f -- "$leftover"
echo "$out"
if [ $rc -eq 0 ]; then
  echo "FAIL: the replay of $input exited 0; expected the watchdog to end it" >&2
  exit 1
fi
if ! grep -q "reading attribute '.*': libhdf5 did not return in 2 s; the file is damaged" <<<"$out"; then
  echo "FAIL: exit status $rc without the watchdog's message" >&2
  exit 1
fi
echo "PASS: ended with status $rc and the watchdog's message"
