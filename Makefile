# Two commands on a fresh machine: `make demo` and `make test`. Both install what they need.
MVN ?= mvn -B -q

.PHONY: deps build crds demo test bench clean

deps:
	scripts/install-deps

build: deps
	$(MVN) package -DskipTests
	scripts/cds-archive operator/target/pgcheckpoint.jar

# Copies the CRDs generated from the Java classes to crds/ and the chart; a test fails when they drift.
crds: build
	cp operator/target/classes/META-INF/fabric8/*.yml crds/
	cp operator/target/classes/META-INF/fabric8/*.yml helm/pgcheckpoint/crds/

# The main job on an embedded default: a local checkpoint sealed, proven, used for a surgical restore.
demo: build
	scripts/demo

# Every test: engine against real PostgreSQL 15 (host), 17 and 18 (containers) and S3Proxy, reconcilers
# against a real kube-apiserver, charts, and end to end on the single-node cluster testbed/ builds
# (the first build takes ~20 min).
test:
	scripts/test-all

# Seal + drill versus bare pg_dump + pg_restore on a pgbench database (SCALE=10 by default).
bench: build
	bench/run

clean:
	$(MVN) clean
