package handlers

import (
	_ "embed" // the API description
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPI is the OpenAPI 3 description of /api/v1. A test checks that it
// describes exactly the routes the server registers.
//
//go:embed openapi.json
var openAPI []byte

// home is the landing page at /: how to check a product (the scan page's
// help), and links to the dashboard, the recalls and the API description.
func (s *Server) home(c *gin.Context) {
	s.pages.render(c, http.StatusOK, "home", s.pages.base(c))
}

// openAPIDoc serves the API description.
func (s *Server) openAPIDoc(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", openAPI)
}
