package wsman

import (
	"strings"
	"testing"
)

// TestPutChangedKey: a Put whose body (whole or fragment) gives a key
// another value than its selector is wxf:InvalidRepresentation with
// WBEM_E_INVALID_PARAMETER and changes nothing; the same value is
// accepted, as wsl sends the whole instance it read.
func TestPutChangedKey(t *testing.T) {
	url, _ := newServer(t, nil)
	sda := [][2]string{{"Name", "sda"}}
	for _, m := range []msg{
		{action: actPut, uri: diskURI, selectors: sda, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Name>sdz</p:Name><p:Model>moved</p:Model></p:Sample_Disk>`},
		{action: actPut, uri: diskURI, selectors: sda, headers: `<wsman:FragmentTransfer s:mustUnderstand="true">Name</wsman:FragmentTransfer>`, body: `<wsman:XmlFragment><Name>sdz</Name></wsman:XmlFragment>`},
		{action: actPut, uri: diskURI, selectors: sda, headers: `<wsman:FragmentTransfer s:mustUnderstand="true">Name/text()</wsman:FragmentTransfer>`, body: `<wsman:XmlFragment>sdy</wsman:XmlFragment>`},
	} {
		body := do(t, url, m, 400, faultActionWXF)
		checkFault(t, body, "Sender", "wxf:InvalidRepresentation", 0x80041008)
		if !strings.Contains(body, "cannot change keys") {
			t.Errorf("fault reason:\n%s", body)
		}
	}
	body := do(t, url, msg{action: actGet, uri: diskURI, selectors: sda}, 200, actGet+"Response")
	if !strings.Contains(body, "<p:Model>Samsung 980</p:Model>") {
		t.Errorf("a refused Put changed the instance:\n%s", body)
	}
	do(t, url, msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "sdz"}}}, 400, faultActionWSA)
	// Key values compare without regard to case (WMI, wmi-semantics.md §4.4):
	// the same key in another case is no change, and the instance keeps its case.
	body = do(t, url, msg{action: actPut, uri: diskURI, selectors: sda, headers: `<wsman:FragmentTransfer s:mustUnderstand="true">Name/text()</wsman:FragmentTransfer>`, body: `<wsman:XmlFragment>SDA</wsman:XmlFragment>`}, 200, actPut+"Response")
	if !strings.Contains(body, "<wsman:XmlFragment>sda</wsman:XmlFragment>") {
		t.Errorf("Put of the key in another case:\n%s", body)
	}
	body = do(t, url, msg{action: actPut, uri: diskURI, selectors: sda, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Name>sda</p:Name><p:Model>same key</p:Model></p:Sample_Disk>`}, 200, actPut+"Response")
	if !strings.Contains(body, "<p:Model>same key</p:Model>") || !strings.Contains(body, "<p:Name>sda</p:Name>") {
		t.Errorf("Put with the same key:\n%s", body)
	}
}
