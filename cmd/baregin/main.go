// Command baregin is the baseline of the resolve benchmark (issue 14): a
// bare Gin engine that answers every GET with a small JSON body, as fast
// as the framework goes on this machine. deploy/bench/resolve-wrk.sh runs
// it beside tracesvc in the same run.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/gin-gonic/gin"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	flag.Parse()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/*path", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"verdict": "genuine", "gtin": "06901230000010", "serial": c.Param("path")})
	})
	log.Fatal(http.ListenAndServe(*addr, r))
}
