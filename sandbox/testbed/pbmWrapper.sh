# The body of the sandbox's `pbm` (pbmWrapperDir() in index.ts writes `real=<the real pbm>` above it): runs the real
# release without AWS_CA_BUNDLE (it breaks real pbm's S3 client) and, when PBM_RECORD names a file, appends one
# JSON line per call: argv, the names (never the values) of the PBM_*, AWS_* and MONGO* variables, the exit code,
# and the start and end times. Bash builtins only: a process started per call to keep the record would add its
# start-up to every pbm call the bench times.
unset AWS_CA_BUNDLE
if [[ -z "${PBM_RECORD:-}" ]]; then exec "$real" "$@"; fi
now() { local t=$EPOCHREALTIME; local f=${t#*.}; TZ=UTC printf -v "$1" '%(%Y-%m-%dT%H:%M:%S)T.%sZ' "${t%.*}" "${f:0:3}"; }
json() { local s=$1; s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\t'/\\t}; s=${s//$'\r'/\\r}; line+="\"$s\""; }
list() { local sep="" v; line+='['; for v in "$@"; do line+=$sep; json "$v"; sep=,; done; line+=']'; }
now start
"$real" "$@"
code=$?
now end
names=()
for v in "${!PBM_@}" "${!AWS_@}" "${!MONGO@}"; do [[ $v != PBM_RECORD ]] && names+=("$v"); done
line='{"argv":'
list "$@"
line+=',"env":'
list "${names[@]}"
line+=",\"exitCode\":$code,\"startedAt\":\"$start\",\"endedAt\":\"$end\",\"pid\":$$}"
printf '%s\n' "$line" >> "$PBM_RECORD"
exit $code
