# Sourced by ./mvnw before anything else: makes sure Maven runs on JDK 25 or newer.
# Order: JAVA_HOME when it already is a JDK 25+, else the newest /usr/lib/jvm/*25* (or later) JDK.
# When none is found JAVA_HOME is left alone; the enforcer rule in pom.xml then stops the build with
# one line saying that JDK 25 is required.
pipeinfer_jdk_major() {
  sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$1/release" 2>/dev/null
}
pipeinfer_select_jdk() {
  if [ -n "${JAVA_HOME-}" ] && [ -x "$JAVA_HOME/bin/javac" ]; then
    major=$(pipeinfer_jdk_major "$JAVA_HOME")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then return 0; fi
  fi
  set +f  # mvnw runs with globbing off
  for candidate in /usr/lib/jvm/*; do
    [ -x "$candidate/bin/javac" ] || continue
    major=$(pipeinfer_jdk_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then
      JAVA_HOME="$candidate"
      export JAVA_HOME
      set -f
      return 0
    fi
  done
  set -f
  echo "pipeinfer: JDK 25 is required but none was found (JAVA_HOME=${JAVA_HOME:-unset}, nothing newer in /usr/lib/jvm)" >&2
  return 0
}
pipeinfer_select_jdk
# Maven's own dependencies still call sun.misc.Unsafe, which JDK 24+ warns about on every build; the flag
# that silences it only exists there (an older JVM refuses to start with it).
if [ -n "${JAVA_HOME-}" ] && [ "$(pipeinfer_jdk_major "$JAVA_HOME")" -ge 24 ] 2>/dev/null; then
  MAVEN_OPTS="${MAVEN_OPTS-} --sun-misc-unsafe-memory-access=allow"
  export MAVEN_OPTS
fi
