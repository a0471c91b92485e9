#!/usr/bin/env bash
# hang_test.sh REPLAY INPUT [PATTERN]: runs a fuzz target's replay binary on one input on
# which libhdf5 never returns or crashes (tests/fuzz/hangs/) and expects pixelmill's guard
# to end it: a non-zero status and the one-line message (PATTERN, a grep regex; default the
# watchdog's) that names the attribute and the damage. Without the watchdog the replay
# hangs and CTest's timeout fails the test; without the crash guard it dies of a signal
# with no message.
set -u
replay=$1 input=$2
pattern=${3:-"reading attribute '.*': libhdf5 did not return in 2 s; the file is damaged"}
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
if ! grep -q "$pattern" <<<"$out"; then
  echo "FAIL: exit status $rc without the message /$pattern/" >&2
  exit 1
fi
echo "PASS: ended with status $rc and the message"
