//go:build tools

// Package helm pins the Helm v3 CLI that testbed/build compiles. It is a
// module of its own so that Helm's dependency set cannot move the versions
// the Kubernetes components in ../go.mod are built with.
package helm

import _ "helm.sh/helm/v3/cmd/helm"
