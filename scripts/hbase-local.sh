#!/usr/bin/env bash
# A real HBase on this machine, for tests and local tries: one standalone JVM (ZooKeeper,
# master and region server, local filesystem) plus a Thrift2 server, both on loopback.
#
#   scripts/hbase-local.sh start    start what is not running; wait until HBase answers real
#                                   Thrift calls; print hbase://127.0.0.1:PORT last
#   scripts/hbase-local.sh stop     stop Thrift, then HBase (SIGTERM, SIGKILL after 30 s)
#   scripts/hbase-local.sh status   each process with its pid, and the endpoint
#   scripts/hbase-local.sh stop-thrift NAME
#                                   stop the extra Thrift server NAME (e.g. to start it
#                                   again with other flags or another keystore)
#   scripts/hbase-local.sh thrift NAME [--http | --https KEYSTORE] [FLAGS...]
#                                   one more Thrift2 server with server flags (e.g. -c -f:
#                                   compact protocol, framed transport) on a free port, for
#                                   client tests; stopped by `stop`; prints its endpoint.
#                                   --http: in HTTP mode (hbase.regionserver.thrift.http;
#                                   binary protocol, clients use ?transport=http).
#                                   --https KEYSTORE: HTTP mode over TLS (HBase serves TLS
#                                   only there) with the server's key and certificate in
#                                   KEYSTORE (PKCS12 when it ends in .p12 or .pfx, else JKS);
#                                   prints hbase+tls://HOST:PORT. Each such server gets its
#                                   own conf dir (conf-thrift-NAME/, mode 0600 files).
#
# Environment:
#   PM_HBASE_HOME         state dir: conf/, data/, logs/, pid and port files (default
#                         $TMPDIR/pixelmill-hbase-UID); must be the caller's own, not a
#                         symlink, writable by no one else (a new one is made mode 0700)
#   PM_HBASE_CACHE        where scripts/deps/hbase.sh keeps the Maven classpath
#   PM_HBASE_PROBE        the readiness probe (pm-hbase-probe, built with pixelmill); default:
#                         the first one found under build*/ of this checkout. Without it,
#                         readiness falls back to the master's log line and an open port.
#   PM_HBASE_THRIFT_PORT  Thrift port for a first start (default: a free one; later starts
#   PM_HBASE_ZK_PORT      reuse the recorded ports, so a restarted Thrift server keeps its port)
#   PM_HBASE_TIMEOUT      seconds to wait for readiness (default 240)
#   PM_HBASE_KEYSTORE_PASSWORD  with --https: the keystore's (and its key's) password; read
#                         from the environment so that it is on no command line
#   PM_HBASE_TLS_CA       with --https: the CA certificate (PEM) that signed the server's, for
#                         the readiness probe, which verifies the server like any client
#   PM_HBASE_TLS_HOST     with --https: the name the probe checks the certificate against and
#                         the endpoint prints (default 127.0.0.1)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
home=${PM_HBASE_HOME:-${TMPDIR:-/tmp}/pixelmill-hbase-$(id -u)}
timeout_s=${PM_HBASE_TIMEOUT:-240}
cache=${PM_HBASE_CACHE:-$HOME/.cache/pixelmill/hbase}

log() { echo "hbase-local: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=lib/private-dir.sh
. "$root/scripts/lib/private-dir.sh"

# JDK >= 11 flags that bin/hbase adds (HBASE-27356, -27643, -28252, -28259, -28261).
jvm_flags=(
  -Djava.net.preferIPv4Stack=true
  -Dorg.apache.hbase.thirdparty.io.netty.tryReflectionSetAccessible=true
  --add-modules jdk.unsupported
  --add-opens java.base/java.io=ALL-UNNAMED
  --add-opens java.base/java.nio=ALL-UNNAMED
  --add-opens java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens java.base/java.lang=ALL-UNNAMED
  --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens java.base/java.util=ALL-UNNAMED
  --add-opens java.base/java.util.concurrent=ALL-UNNAMED
  --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
  --add-exports java.security.jgss/sun.security.krb5=ALL-UNNAMED
  --add-exports java.base/sun.net.dns=ALL-UNNAMED
  --add-exports java.base/sun.net.util=ALL-UNNAMED
  -XX:+UseSerialGC
)

# pid of a running process of ours (name = master|thrift), or nothing. A pid file whose
# process is gone, or was reused by something else, counts as down.
running_pid() {
  local f=$home/$1.pid pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "-Dpm.hbase.home=$home "; then
    echo "$pid"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Can a server bind 127.0.0.1:PORT now (as Java does, with SO_REUSEADDR)? Unlike a connect
# test this also sees ports held by outgoing connections.
port_free() {
  python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try: s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError: sys.exit(1)' "$1"
}

find_probe() {
  if [ -n "${PM_HBASE_PROBE:-}" ] && [ -x "$PM_HBASE_PROBE" ]; then echo "$PM_HBASE_PROBE"; return; fi
  local p
  for p in "$root"/build*/src/source/hbase/pm-hbase-probe "$root"/build*/bin/pm-hbase-probe; do
    [ -x "$p" ] && { echo "$p"; return; }
  done
}

write_conf() {
  local zk=$1 tp=$2
  mkdir -p "$home/conf" "$home/data" "$home/logs" "$home/tmp"
  cat > "$home/conf/hbase-site.xml" <<EOF
<?xml version="1.0"?>
<configuration>
  <property><name>hbase.cluster.distributed</name><value>false</value></property>
  <property><name>hbase.rootdir</name><value>file://$home/data/hbase</value></property>
  <property><name>hbase.tmp.dir</name><value>$home/tmp</value></property>
  <property><name>hbase.zookeeper.property.dataDir</name><value>$home/data/zk</value></property>
  <property><name>hbase.zookeeper.quorum</name><value>127.0.0.1</value></property>
  <property><name>hbase.zookeeper.property.clientPort</name><value>$zk</value></property>
  <property><name>hbase.unsafe.stream.capability.enforce</name><value>false</value></property>
  <property><name>hbase.localcluster.assign.random.ports</name><value>true</value></property>
  <property><name>hbase.master.info.port</name><value>-1</value></property>
  <property><name>hbase.regionserver.info.port</name><value>-1</value></property>
  <property><name>hbase.thrift.info.port</name><value>-1</value></property>
  <property><name>hbase.master.ipc.address</name><value>127.0.0.1</value></property>
  <property><name>hbase.regionserver.ipc.address</name><value>127.0.0.1</value></property>
  <property><name>hbase.master.hostname</name><value>localhost</value></property>
  <property><name>hbase.unsafe.regionserver.hostname</name><value>localhost</value></property>
  <property><name>hbase.regionserver.thrift.ipaddress</name><value>127.0.0.1</value></property>
  <property><name>hbase.regionserver.thrift.port</name><value>$tp</value></property>
  <!-- images up to 32 MB per cell -->
  <property><name>hbase.client.keyvalue.maxsize</name><value>33554432</value></property>
  <property><name>hbase.server.keyvalue.maxsize</name><value>33554432</value></property>
  <property><name>hbase.client.scanner.timeout.period</name><value>120000</value></property>
  <property><name>hbase.thrift.server.socket.read.timeout</name><value>300000</value></property>
  <!-- one small box: fewer handler threads, no balancer churn -->
  <property><name>hbase.regionserver.handler.count</name><value>8</value></property>
  <property><name>hbase.balancer.period</name><value>3600000</value></property>
</configuration>
EOF
  cat > "$home/conf/log4j2.properties" <<'EOF'
status = warn
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_OUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{ISO8601} %-5p [%t] %c{2}: %m%n
rootLogger = INFO,console
logger.zk.name = org.apache.zookeeper
logger.zk.level = WARN
logger.hadoop.name = org.apache.hadoop.hbase.shaded
logger.hadoop.level = WARN
EOF
}

# The conf dir first on the classpath: its hbase-site.xml wins. An extra server in HTTP(S)
# mode sets jvm_conf to its own.
jvm_conf=""
classpath() {
  if [ ! -s "$cache/hbase.cp" ]; then
    PM_HBASE_CACHE=$cache bash "$root/scripts/deps/hbase.sh" >&2
  fi
  echo "${jvm_conf:-$home/conf}:$(cat "$cache/hbase.cp")"
}

xml_escape() {
  local s=${1//&/&amp;}
  s=${s//</&lt;}
  s=${s//>/&gt;}
  printf '%s' "$s"
}

# write_extra_conf DIR PROPERTIES_XML: the main hbase-site.xml plus PROPERTIES_XML, files
# readable by the owner only (a keystore password may be among them).
write_extra_conf() {
  local dir=$1 props=$2
  mkdir -p "$dir"
  chmod 700 "$dir"
  (
    umask 077
    cp "$home/conf/log4j2.properties" "$dir/log4j2.properties"
    sed '/<\/configuration>/d' "$home/conf/hbase-site.xml" > "$dir/hbase-site.xml"
    printf '%s\n</configuration>\n' "$props" >> "$dir/hbase-site.xml"
  )
}

# start_jvm NAME XMX CLASS ARGS...: detached from this shell (setsid), so the test harness
# that called `start` may exit while HBase keeps running. Returns once the process is the
# JVM: until its exec, /proc/PID/cmdline is the launching shell's, and running_pid (which
# looks for our -Dpm.hbase.home there) would call a JVM that is just starting dead.
start_jvm() {
  local name=$1 xmx=$2 cls=$3; shift 3
  local cp; cp=$(classpath)
  local pidf=$home/$name.pid pid="" deadline
  rm -f "$pidf"
  # The launched process writes its own pid, then becomes java (exec keeps the pid): the
  # pid file names the JVM whether or not setsid had to fork.
  setsid bash -c 'echo $$ > "$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidf" \
    java "${jvm_flags[@]}" "-Xmx$xmx" "-Dpm.hbase.home=$home" \
    -Dhbase.log.dir="$home/logs" -cp "$cp" "$cls" "$@" \
    >"$home/logs/$name.out" 2>&1 < /dev/null &
  deadline=$(( $(date +%s) + 30 ))
  while :; do
    [ -n "$pid" ] || { [ -s "$pidf" ] && pid=$(cat "$pidf"); } || true
    if [ -n "$pid" ]; then
      [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = java ] && break
      if ! kill -0 "$pid" 2>/dev/null; then
        tail -30 "$home/logs/$name.out" >&2 || true
        die "$name exited as it started (log: $home/logs/$name.out)"
      fi
    fi
    [ "$(date +%s)" -lt "$deadline" ] || die "$name did not start within 30 s"
    sleep 0.1
  done
  log "started $name (pid $pid)"
}

wait_ready() {
  local tp=$1 deadline=$(( $(date +%s) + timeout_s )) probe
  shift
  probe=$(find_probe)
  if [ -n "$probe" ]; then
    # Real calls: getThriftServerType == TWO, then an admin call that needs an initialised
    # master (namespace table assigned).
    "$probe" --host 127.0.0.1 --port "$tp" --timeout "$timeout_s" "$@" >&2 && return 0
    return 1
  fi
  log "no pm-hbase-probe built: falling back to the master log and the Thrift port"
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if grep -q "Master has completed initialization" "$home/logs/master.out" 2>/dev/null \
        && port_open "$tp"; then
      return 0
    fi
    [ -n "$(running_pid master)" ] || return 1
    sleep 1
  done
  return 1
}

cmd_start() {
  mkdir -p "$home/logs"
  local zk tp t0; t0=$(date +%s)
  if [ -s "$home/ports" ]; then
    read -r zk tp < "$home/ports"
  else
    zk=${PM_HBASE_ZK_PORT:-$(free_port)}
    tp=${PM_HBASE_THRIFT_PORT:-$(free_port)}
  fi
  # Recorded ports are reused (a restarted Thrift server keeps its endpoint), unless some
  # other process took one meanwhile (HBase's own ephemeral ports can): then pick anew.
  if [ -z "$(running_pid master)" ]; then
    # A Thrift server of ours without its cluster is useless; it restarts below.
    stop_one thrift
    if ! port_free "$zk"; then
      zk=$(free_port)
      log "ZooKeeper port taken by another process: using $zk"
    fi
  fi
  if [ -z "$(running_pid thrift)" ]; then
    local n=0
    while ! port_free "$tp" && [ $n -lt 10 ]; do sleep 0.5; n=$((n + 1)); done
    if ! port_free "$tp" || [ "$tp" = "$zk" ]; then
      tp=$(free_port)
      log "Thrift port taken by another process: using $tp"
    fi
  fi
  echo "$zk $tp" > "$home/ports"
  write_conf "$zk" "$tp"

  if [ -n "$(running_pid master)" ]; then
    log "master already running (pid $(running_pid master))"
  else
    start_jvm master 1g org.apache.hadoop.hbase.master.HMaster start
  fi
  # ZooKeeper comes up first, within seconds; the Thrift server needs it to start.
  local deadline=$(( $(date +%s) + timeout_s ))
  until port_open "$zk"; do
    [ -n "$(running_pid master)" ] || { tail -30 "$home/logs/master.out" >&2; die "master exited"; }
    [ "$(date +%s)" -lt "$deadline" ] || die "ZooKeeper did not open port $zk"
    sleep 0.5
  done

  if [ -n "$(running_pid thrift)" ]; then
    log "thrift already running (pid $(running_pid thrift))"
  else
    start_jvm thrift 512m org.apache.hadoop.hbase.thrift2.ThriftServer \
      -threadpool -b 127.0.0.1 -p "$tp" start
  fi

  if ! wait_ready "$tp"; then
    log "not ready after ${timeout_s}s; last master log lines:"
    tail -20 "$home/logs/master.out" >&2 || true
    tail -20 "$home/logs/thrift.out" >&2 || true
    exit 1
  fi
  log "ready in $(( $(date +%s) - t0 ))s"
  echo "hbase://127.0.0.1:$tp"
}

stop_one() {
  local name=$1 pid
  pid=$(running_pid "$name")
  if [ -z "$pid" ]; then rm -f "$home/$name.pid"; return; fi
  kill -TERM "$pid" 2>/dev/null || true
  local n=0
  while kill -0 "$pid" 2>/dev/null && [ $n -lt 60 ]; do sleep 0.5; n=$((n + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) did not stop in 30s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$home/$name.pid"
  log "stopped $name (pid $pid)"
}

cmd_stop() {
  local f
  for f in "$home"/thrift-*.pid; do
    [ -e "$f" ] || continue
    f=$(basename "$f" .pid)
    stop_one "$f"
  done
  stop_one thrift
  stop_one master
}

cmd_extra_thrift() {
  local name=thrift-$1; shift
  [ -n "$(running_pid master)" ] || die "HBase is not running: start it first"
  local tp probe_flags=() mode=binary keystore="" scheme=hbase endpoint_host=127.0.0.1
  case "${1:-}" in
    --http) mode=http; shift ;;
    --https)
      [ $# -ge 2 ] || die "--https needs a keystore file"
      mode=https; keystore=$(realpath "$2"); shift 2
      [ -r "$keystore" ] || die "cannot read the keystore $keystore"
      [ -n "${PM_HBASE_KEYSTORE_PASSWORD:-}" ] || die "--https: set PM_HBASE_KEYSTORE_PASSWORD"
      [ -n "${PM_HBASE_TLS_CA:-}" ] || die "--https: set PM_HBASE_TLS_CA (the CA for the readiness probe)"
      ;;
  esac
  if [ "$mode" != binary ]; then
    local props='  <property><name>hbase.regionserver.thrift.http</name><value>true</value></property>'
    probe_flags+=(--http)
    if [ "$mode" = https ]; then
      local type=JKS pw
      case "$keystore" in *.p12|*.pfx) type=PKCS12 ;; esac
      pw=$(xml_escape "$PM_HBASE_KEYSTORE_PASSWORD")
      props+="
  <property><name>hbase.thrift.ssl.enabled</name><value>true</value></property>
  <property><name>hbase.thrift.ssl.keystore.store</name><value>$(xml_escape "$keystore")</value></property>
  <property><name>hbase.thrift.ssl.keystore.type</name><value>$type</value></property>
  <property><name>hbase.thrift.ssl.keystore.password</name><value>$pw</value></property>
  <property><name>hbase.thrift.ssl.keystore.keypassword</name><value>$pw</value></property>"
      endpoint_host=${PM_HBASE_TLS_HOST:-127.0.0.1}
      scheme=hbase+tls
      probe_flags+=(--tls --tls-ca "$PM_HBASE_TLS_CA" --host "$endpoint_host")
    fi
    write_extra_conf "$home/conf-$name" "$props"
    jvm_conf=$home/conf-$name
  fi
  local f
  for f in "$@"; do
    case "$f" in
      -c|--compact) probe_flags+=(--compact) ;;
      -f|--framed|-nonblocking|-hsha|-threadedselector) probe_flags+=(--framed) ;;
    esac
  done
  if [ -n "$(running_pid "$name")" ]; then
    tp=$(cat "$home/$name.port")
  else
    tp=$(free_port)
    echo "$tp" > "$home/$name.port"
    start_jvm "$name" 512m org.apache.hadoop.hbase.thrift2.ThriftServer -b 127.0.0.1 -p "$tp" "$@" start
  fi
  wait_ready "$tp" "${probe_flags[@]}" || { tail -20 "$home/logs/$name.out" >&2; die "$name not ready"; }
  echo "$scheme://$endpoint_host:$tp" > "$home/$name.endpoint"
  echo "$scheme://$endpoint_host:$tp"
}

cmd_status() {
  local rc=0 name pid f
  for name in master thrift; do
    pid=$(running_pid "$name")
    if [ -n "$pid" ]; then echo "$name running pid $pid"; else echo "$name stopped"; rc=3; fi
  done
  for f in "$home"/thrift-*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid)
    pid=$(running_pid "$name")
    [ -n "$pid" ] && echo "$name running pid $pid $(cat "$home/$name.endpoint" 2>/dev/null ||
                                                     echo "hbase://127.0.0.1:$(cat "$home/$name.port")")"
  done
  if [ -s "$home/ports" ]; then
    local zk tp; read -r zk tp < "$home/ports"
    echo "zookeeper 127.0.0.1:$zk"
    echo "hbase://127.0.0.1:$tp"
  fi
  return $rc
}

case "${1:-}" in start|stop|status|thrift|stop-thrift) private_state_dir "$home" ;; esac
case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  thrift) shift; [ $# -ge 1 ] || die "usage: $0 thrift NAME [--http | --https KEYSTORE] [FLAGS...]"; cmd_extra_thrift "$@" ;;
  stop-thrift) [ $# -eq 2 ] || die "usage: $0 stop-thrift NAME"; stop_one "thrift-$2"; rm -f "$home/thrift-$2.endpoint" ;;
  *) echo "usage: $0 start|stop|status|thrift|stop-thrift   (state in \$PM_HBASE_HOME, default \$TMPDIR/pixelmill-hbase-UID)" >&2; exit 2 ;;
esac
