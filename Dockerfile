# pgcheckpoint: one image for the operator, the dump Job (`seal`), the drill
# Job (`drill`) and the CLI; it also has curl, for deploy Jobs that call the
# operator's HTTP API (examples/curl/checkpoint.sh) without starting a JVM. Build from the repository root after
# `mvn package` has produced operator/target/pgcheckpoint.jar:
#   docker build -t pgcheckpoint:dev .
#
# It carries pg_dump, pg_restore and psql of every PostgreSQL major it
# supports, side by side in /usr/lib/postgresql/N/bin: a source is dumped with
# pg_dump of its own major and an archive is read by pg_restore of its
# pg_dump's major, because a newer pg_restore's output does not load into an
# older server (pg_restore 17 and 18 set transaction_timeout, which
# PostgreSQL 13-16 reject): docs/versions.md.
#
# Build arguments:
#   BASE         Debian image (default debian:trixie-slim)
#   PG_MAJORS    client majors to install (default "14 15 16 17 18"; PostgreSQL 13
#                reached its end of life in November 2025 and apt.postgresql.org
#                moves such majors to its archive: 13 sources are dumped with
#                pg_dump 14, add 13 where your mirror still has it)
#   PG_SOURCE    where they come from:
#                pgdg (default)  the PostgreSQL project's apt.postgresql.org,
#                                every supported major for the base's release
#                debian          Debian's own suites: each major from the suite
#                                PG_SUITES names for it; a suite other than the
#                                base's is added with a low pin, so that only
#                                what the base lacks (that major's client)
#                                comes from it; libpq5 and the rest are the base's
#   PG_SUITES    for debian: major:suite pairs (default "15:bookworm 17:trixie 18:sid")
#   PGDG_HOST    for pgdg: the repository host (a mirror or proxy of apt.postgresql.org)
#   JRE          Java runtime package, 17 or newer (default openjdk-21-jre-headless)
# The testbed builds it without any registry, on its debootstrap'ed sid, with
# Debian's suites (testbed/build-image):
#   buildah bud --build-arg BASE=localhost/debian-base:sid --build-arg PG_SOURCE=debian \
#               --build-arg PG_MAJORS="15 17 18" ...
ARG BASE=debian:trixie-slim
FROM ${BASE}
ARG PG_MAJORS="14 15 16 17 18"
ARG PG_SOURCE=pgdg
ARG PG_SUITES="15:bookworm 17:trixie 18:sid"
ARG PGDG_HOST=apt.postgresql.org
ARG JRE=openjdk-21-jre-headless

RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    mkdir -p /usr/share/man/man1; \
    apt-get update; \
    packages=""; \
    case "$PG_SOURCE" in \
      pgdg) \
        apt-get install -y --no-install-recommends postgresql-common ca-certificates; \
        /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y -h "$PGDG_HOST"; \
        for m in $PG_MAJORS; do packages="$packages postgresql-client-$m"; done ;; \
      debian) \
        base_suite="$(sed -n 's/^Suites: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources | head -1)"; \
        mirror="$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources | head -1)"; \
        for m in $PG_MAJORS; do \
          suite=""; \
          for pair in $PG_SUITES; do [ "${pair%%:*}" = "$m" ] && suite="${pair#*:}"; done; \
          [ -n "$suite" ] || { echo "PG_SUITES names no Debian suite for PostgreSQL $m" >&2; exit 1; }; \
          if [ "$suite" = "$base_suite" ]; then packages="$packages postgresql-client-$m"; continue; fi; \
          if [ ! -f "/etc/apt/sources.list.d/pg-$suite.sources" ]; then \
            printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
              "$mirror" "$suite" > "/etc/apt/sources.list.d/pg-$suite.sources"; \
            printf 'Package: *\nPin: release n=%s\nPin-Priority: 100\n' "$suite" > "/etc/apt/preferences.d/pg-$suite"; \
          fi; \
          packages="$packages postgresql-client-$m"; \
        done; \
        apt-get update ;; \
      *) echo "PG_SOURCE must be pgdg or debian, not $PG_SOURCE" >&2; exit 1 ;; \
    esac; \
    apt-get install -y --no-install-recommends "$JRE" ca-certificates curl $packages; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/*; \
    java -version; \
    for m in $PG_MAJORS; do "/usr/lib/postgresql/$m/bin/pg_dump" --version; "/usr/lib/postgresql/$m/bin/pg_restore" --version; done

COPY operator/target/pgcheckpoint.jar /opt/pgcheckpoint/pgcheckpoint.jar
# Class-data sharing for a faster JVM start (docs/benchmarks.md): a training run loads the classes
# seal, drill and restore use and this JVM writes them to pgcheckpoint.jsa at exit; the launcher maps
# it, and a JVM that cannot use it ignores it silently. No archive, no harm: the build goes on.
RUN set -eux; \
    java -XX:ArchiveClassesAtExit=/opt/pgcheckpoint/pgcheckpoint.jsa -Xlog:cds=off -Xlog:cds+dynamic=off \
        -jar /opt/pgcheckpoint/pgcheckpoint.jar cds-training || rm -f /opt/pgcheckpoint/pgcheckpoint.jsa; \
    printf '%s\n' '#!/bin/sh' \
        'cds=/opt/pgcheckpoint/pgcheckpoint.jsa' \
        'if [ -f "$cds" ]; then set -- -XX:SharedArchiveFile="$cds" -Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off -jar /opt/pgcheckpoint/pgcheckpoint.jar "$@"; else set -- -jar /opt/pgcheckpoint/pgcheckpoint.jar "$@"; fi' \
        'exec java $JAVA_OPTS "$@"' \
        > /usr/local/bin/pgcheckpoint; \
    chmod 0755 /usr/local/bin/pgcheckpoint; \
    chmod 0644 /opt/pgcheckpoint/pgcheckpoint.jar; \
    if [ -f /opt/pgcheckpoint/pgcheckpoint.jsa ]; then chmod 0644 /opt/pgcheckpoint/pgcheckpoint.jsa; fi

ENV JAVA_OPTS="-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError" \
    LANG=C.UTF-8 \
    HOME=/tmp

USER 65532:65532
ENTRYPOINT ["pgcheckpoint"]
