//go:build tools

// Package versitygw pins Versity's S3 gateway, which testbed/build compiles for the engine tests
// that need S3 Object Lock (retention per object version, GOVERNANCE/COMPLIANCE, refused deletes
// and overwrites of locked versions, versioned buckets): S3Proxy, the other test server, has no
// Object Lock. A module of its own, like ../promtool, so that its dependency set cannot move the
// versions of the other tools. See docs/immutability.md (tests) for why this server.
package versitygw

import _ "github.com/versity/versitygw/cmd/versitygw"
