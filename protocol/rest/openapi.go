package rest

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the OpenAPI 3 description of the door, served at
// /api/v1/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	writeRaw(w, http.StatusOK, OpenAPI)
	return nil
}
