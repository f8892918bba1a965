#!/usr/bin/env bash
# The demo: build wbem, compile the sample schema into a local repository
# (./demo-repo, or $WBEM_REPO), then create a namespace, a class and
# instances and read them back, showing WMI's write semantics and error
# reporting along the way.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
mkdir -p bin
go build -o bin/wbem ./cmd/wbem
export WBEM_REPO="${WBEM_REPO:-$PWD/demo-repo}"
rm -rf "$WBEM_REPO"
w() { echo "\$ wbem $*"; ./bin/wbem "$@" || echo "(exit status $?)"; echo; }

w mofcomp examples/sample.mof
w -n root/sample classes
w -n root/sample enum Sample_StorageElement
w -n root/sample -o mof get Sample_Disk
w ns create demo -n root
w ns list -n root
w -n root/demo put examples/disk-class.json
w -n root/demo classes
w -n root/demo get Demo_Disk
w -n root/demo put Demo_Disk Name=sda SizeBytes=512110190592 Model="Samsung 980" Installed=20260101120000.000000+000
w -n root/demo put Demo_Disk Name=sdb SizeBytes=1000204886016 Model="WD Blue"
w -n root/demo put --create-only Demo_Disk Name=sda Model=dup
w -n root/demo put --update-only --properties SizeBytes Demo_Disk Name=sda SizeBytes=1
w -n root/demo put Demo_Disk Name=sdc SizeBytes=lots Model=x
w -n root/demo put Demo_Disk Name=sdc
w -n root/demo enum Demo_Disk
w -n root/demo -o json get 'Demo_Disk.Name="sda"'
w -n root/demo delete 'Demo_Disk.Name="sdb"'
w -n root/demo enum Demo_Disk --names
w repo check
