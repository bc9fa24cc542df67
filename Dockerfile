# pgcheckpoint: one image for the operator, the dump Job (`seal`), the drill
# Job (`drill`) and the CLI. Build from the repository root after
# `mvn package` has produced operator/target/pgcheckpoint.jar:
#   docker build -t pgcheckpoint:dev .
# The testbed builds it without any registry, on its debootstrap'ed base:
#   buildah bud --isolation chroot --build-arg BASE=localhost/debian-base:bookworm ...
ARG BASE=debian:bookworm-slim
FROM ${BASE}

# Java 17 runtime and the PostgreSQL 15 client tools (pg_dump, pg_restore,
# psql). pg_dump must be >= the source server's major version.
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    mkdir -p /usr/share/man/man1; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        openjdk-17-jre-headless postgresql-client-15 ca-certificates; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/*; \
    java -version; pg_dump --version

COPY operator/target/pgcheckpoint.jar /opt/pgcheckpoint/pgcheckpoint.jar
RUN set -eux; \
    printf '%s\n' '#!/bin/sh' 'exec java $JAVA_OPTS -jar /opt/pgcheckpoint/pgcheckpoint.jar "$@"' \
        > /usr/local/bin/pgcheckpoint; \
    chmod 0755 /usr/local/bin/pgcheckpoint; \
    chmod 0644 /opt/pgcheckpoint/pgcheckpoint.jar

ENV JAVA_OPTS="-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError" \
    LANG=C.UTF-8 \
    HOME=/tmp

USER 65532:65532
ENTRYPOINT ["pgcheckpoint"]
