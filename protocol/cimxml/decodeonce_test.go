package cimxml

import (
	"net/http"
	"strings"
	"testing"
)

// TestDecodedOnceByKind: an element validateParams decoded one way is not
// handed to an operation that decodes it another way: a CLASS given as
// CreateInstance's NewInstance is refused as before, and an INSTANCE is
// created.
func TestDecodedOnceByKind(t *testing.T) {
	url := benchServer(t)
	status, cimError, body := call(t, url, "CreateInstance", "root/sample",
		`<IPARAMVALUE NAME="NewInstance"><CLASS NAME="Sample_Disk"></CLASS></IPARAMVALUE>`)
	if status != http.StatusBadRequest || cimError != "request-not-valid" || !strings.Contains(body, "expected INSTANCE, found CLASS") {
		t.Fatalf("a CLASS as NewInstance: %d %s %s", status, cimError, body)
	}
	status, _, body = call(t, url, "CreateInstance", "root/sample",
		`<IPARAMVALUE NAME="NewInstance"><INSTANCE CLASSNAME="Sample_Disk"><PROPERTY NAME="Name" TYPE="string"><VALUE>once</VALUE></PROPERTY><PROPERTY NAME="Model" TYPE="string"><VALUE>m</VALUE></PROPERTY></INSTANCE></IPARAMVALUE>`)
	if status != http.StatusOK || !strings.Contains(body, `<KEYVALUE`) || !strings.Contains(body, "once") {
		t.Fatalf("CreateInstance: %d %s", status, body)
	}
}
