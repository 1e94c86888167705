package handlers

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"tracesvc/trace"
)

// page reads ?limit= and ?cursor=.
func page(c *gin.Context) (trace.Page, error) {
	var p trace.Page
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, trace.Invalid("limit", "must be a whole number, got %q", v)
		}
		if n < 1 || n > trace.MaxLimit {
			return p, trace.Invalid("limit", "must be between 1 and %d", trace.MaxLimit)
		}
		p.Limit = n
	}
	p.After = c.Query("cursor")
	return p.Normalize()
}

// listBody is the shape of every list response: the items under their
// plural name, and nextCursor unless this is the last page.
func listBody[T any](name string, items []T, next string) gin.H {
	if items == nil {
		items = []T{}
	}
	h := gin.H{name: items}
	if next != "" {
		h["nextCursor"] = next
	}
	return h
}
