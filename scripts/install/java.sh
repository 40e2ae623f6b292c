#!/usr/bin/env bash
# Lamina's Java runtimes (java8.al2, java11, java17, java21, java25): a JDK and Maven on the host,
# and AWS's Java runtime interface client (com.amazonaws:aws-lambda-java-runtime-interface-client)
# with its dependencies, fetched from Maven Central into a world-readable directory that every
# execution environment can read:
#
#   $LAMINA_JAVA_RIC_DIR (default /usr/local/lib/lamina/java)
#     lib/*.jar     the runtime interface client and its dependencies (the runtime's classpath)
#     jni/*.so      its native Runtime API client, unpacked once (else each start unpacks it to /tmp)
#     VERSION       the client's version, written last: present means complete
#     lamina-runtime.jar  Lamina's main class: AWS's runtime loop over the framed Runtime API
#                   (src/lamina/runtime/java/framed.py compiles it; without it, AWS's client runs
#                   over HTTP)
#     cds/*.jsa     class-data-sharing archives of the client, one per host JDK (11+): they halve
#                   cold starts (src/lamina/runtime/java/cds.py trains them)
#
# Idempotent: a quick no-op once installed. Needs root for apt-get and for the default directory.
set -euo pipefail

RIC_VERSION="2.10.1"
DEST="${LAMINA_JAVA_RIC_DIR:-/usr/local/lib/lamina/java}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"

say() { echo "java: $*"; }

apt_install() {
    local tries=0
    say "apt-get install -y $*"
    export DEBIAN_FRONTEND=noninteractive
    # dpkg's lock may be held by another install running at the same time: wait for it.
    until apt-get install -y --no-install-recommends "$@"; do
        tries=$((tries + 1))
        if [ "$tries" -ge 20 ]; then
            say "apt-get install failed"; return 1
        fi
        sleep 10
        [ "$tries" -eq 1 ] && apt-get update || true
    done
}

# 1. A JDK (the java17 runtime, and the compiler the tests and examples build with) and Maven.
if ! command -v javac >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    apt-get update
    jdk="openjdk-17-jdk-headless"
    apt-cache show "$jdk" >/dev/null 2>&1 || jdk="default-jdk-headless"
    apt_install "$jdk" maven
else
    say "JDK and Maven present ($(command -v javac), $(command -v mvn))"
fi

# 2. AWS's runtime interface client and its dependencies.
fetch_ric() {
    say "fetching aws-lambda-java-runtime-interface-client $RIC_VERSION into $DEST"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>lamina</groupId>
  <artifactId>lamina-java-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>com.amazonaws</groupId>
      <artifactId>aws-lambda-java-runtime-interface-client</artifactId>
      <version>$RIC_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
    mvn -q -B -Dstyle.color=never -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$work/out/lib"

    mkdir -p "$work/out/jni"
    # Its native Runtime API client, unpacked once (the client would unpack it to /tmp at every start).
    python3 - "$work/out/lib/aws-lambda-java-runtime-interface-client-$RIC_VERSION.jar" "$work/out/jni" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as jar:
    for name in jar.namelist():
        if name.startswith("jni/") and name.endswith(".so"):
            with open(os.path.join(sys.argv[2], os.path.basename(name)), "wb") as out:
                out.write(jar.read(name))
PY

    mkdir -p "$(dirname "$DEST")"
    rm -rf "$DEST.new"
    mv "$work/out" "$DEST.new"
    echo "$RIC_VERSION" >"$DEST.new/VERSION"
    chmod -R a+rX,go-w "$DEST.new"
    rm -rf "$DEST.old"
    if [ -e "$DEST" ]; then mv "$DEST" "$DEST.old"; fi
    mv "$DEST.new" "$DEST"
    rm -rf "$DEST.old"
    # Directories above it must be traversable by the environments' unprivileged users.
    chmod a+rx "$(dirname "$DEST")" 2>/dev/null || true
    say "installed: $(ls "$DEST/lib" | tr '\n' ' ')"
}

if [ -f "$DEST/VERSION" ] && [ "$(cat "$DEST/VERSION")" = "$RIC_VERSION" ] \
    && [ -f "$DEST/lib/aws-lambda-java-runtime-interface-client-$RIC_VERSION.jar" ]; then
    say "runtime interface client $RIC_VERSION already in $DEST"
else
    fetch_ric
fi

# 3. Lamina's main class, compiled for Java 8 (rebuilt when its sources changed).
python3 "$ROOT/src/lamina/runtime/java/framed.py" "$DEST"

# 4. A class-data-sharing archive of the client for each JDK on the host (a no-op for those that
#    have one; a JDK added or updated later gets one at the next run of this script).
python3 "$ROOT/src/lamina/runtime/java/cds.py" "$DEST"
