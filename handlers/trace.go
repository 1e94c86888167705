package handlers

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"tracesvc/trace"
	"tracesvc/trace/gs1"
)

// traceStart reads where a trace starts: ?epc= (repeatable; an EPC URN or
// a Digital Link) or ?gtin=&lot=.
func traceStart(c *gin.Context) ([]string, error) {
	var keys []string
	for _, e := range c.QueryArray("epc") {
		k, _, err := gs1.ParseEPC(e)
		if err != nil {
			return nil, trace.Invalid("epc", "%v", err)
		}
		keys = append(keys, k)
	}
	if g := c.Query("gtin"); g != "" {
		gtin, err := gs1.ValidateGTIN(g)
		if err != nil {
			return nil, trace.Invalid("gtin", "%v", err)
		}
		lot := c.Query("lot")
		if lot == "" {
			return nil, trace.Invalid("lot", "is required with gtin")
		}
		if err := gs1.ValidateValue("10", lot); err != nil {
			return nil, trace.Invalid("lot", "%v", err)
		}
		keys = append(keys, trace.LotKey(gtin, lot))
	}
	if len(keys) == 0 {
		return nil, trace.Invalid("epc", "give ?epc= (EPC URN or Digital Link) or ?gtin=&lot=")
	}
	return keys, nil
}

func queryInt(c *gin.Context, name string) (int, error) {
	v := c.Query(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, trace.Invalid(name, "must be a whole number, got %q", v)
	}
	return n, nil
}

// traceWalk answers GET /api/v1/trace/{forward|backward}.
func (s *Server) traceWalk(dir trace.Direction) func(*gin.Context) error {
	return func(c *gin.Context) error {
		keys, err := traceStart(c)
		if err != nil {
			return err
		}
		depth, err := queryInt(c, "depth")
		if err != nil {
			return err
		}
		maxNodes, err := queryInt(c, "maxNodes")
		if err != nil {
			return err
		}
		g, err := s.chain.Trace(c.Request.Context(), principal(c), keys, dir, trace.TraceOptions{MaxDepth: depth, MaxNodes: maxNodes})
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, g)
		return nil
	}
}
