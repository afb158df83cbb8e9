#!/bin/bash -eu
# ClusterFuzzLite runs this as $SRC/build.sh. The build is OSS-Fuzz's,
# kept in one place: oss-fuzz/build.sh.
exec bash -eu "$SRC/mmdiff/oss-fuzz/build.sh" "$@"
