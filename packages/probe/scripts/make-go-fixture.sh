#!/bin/sh
# Builds a real Go program that depends on aws-sdk-go at VERSION, with no module proxy: the dependency is vendored (a
# stand-in package under vendor/, listed in vendor/modules.txt), so `go build -mod=vendor` records
# "dep github.com/aws/aws-sdk-go VERSION" in the binary's build info as it does for the real module.
# Run with an argument, the program sleeps (a process for tests to find); without, it prints the version and exits.
# Usage: make-go-fixture.sh OUT [VERSION]     Needs go (Debian: apt-get install golang-go).
set -eu
out=$1
ver=${2:-v1.20.0}
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
dir=$(mktemp -d /tmp/imdsv2-go-fixture.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
printf 'module example.com/fixture\n\ngo 1.17\n\nrequire github.com/aws/aws-sdk-go %s\n' "$ver" >go.mod
mkdir -p vendor/github.com/aws/aws-sdk-go/aws
printf 'package aws\n\n// SDKVersion stands in for the real constant.\nconst SDKVersion = "%s"\n' "${ver#v}" \
  >vendor/github.com/aws/aws-sdk-go/aws/version.go
printf '# github.com/aws/aws-sdk-go %s\n## explicit\ngithub.com/aws/aws-sdk-go/aws\n' "$ver" >vendor/modules.txt
cat >main.go <<'EOF'
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go/aws"
)

func main() {
	fmt.Println(aws.SDKVersion)
	if len(os.Args) > 1 {
		time.Sleep(10 * time.Minute)
	}
}
EOF
GOFLAGS=-mod=vendor GOPROXY=off GOCACHE="$dir/cache" GOPATH="$dir/gopath" go build -trimpath -o "$out" .
