// Package console is the web console: a page of plain JavaScript, served
// from files embedded in the binary, that browses, queries, edits and
// watches a repository through the JSON door (protocol/rest). It needs
// no build step and nothing from the network.
package console

import (
	"embed"
	"io/fs"
	"net/http"
)

// Prefix is where the console is served.
const Prefix = "/ui/"

//go:embed static
var files embed.FS

// Static returns the console's files (index.html, app.js, style.css).
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree always has it
	}
	return sub
}

// Handler serves the console under Prefix, and sends a browser asking
// for / there. The page loads only its own files and talks only to its
// own origin (Content-Security-Policy), and may not be framed.
func Handler() http.Handler {
	files := http.StripPrefix(Prefix, http.FileServerFS(Static()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, Prefix, http.StatusFound)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
