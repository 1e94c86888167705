package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"tracesvc/trace"
)

func (s *Server) createProduct(c *gin.Context) error {
	var in trace.NewProduct
	if err := decode(c, &in); err != nil {
		return err
	}
	p, err := s.registry.CreateProduct(c.Request.Context(), principal(c), in)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/products/"+p.GTIN)
	c.JSON(http.StatusCreated, p)
	return nil
}

func (s *Server) getProduct(c *gin.Context) error {
	p, err := s.registry.Product(c.Request.Context(), c.Param("gtin"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, p)
	return nil
}

// listProducts lists products. An entity key lists its own products only;
// anyone else may filter by ?ownerId=.
func (s *Server) listProducts(c *gin.Context) error {
	pg, err := page(c)
	if err != nil {
		return err
	}
	f := trace.ProductFilter{OwnerID: c.Query("ownerId"), Category: trace.Category(c.Query("category"))}
	list, next, err := s.registry.Products(c.Request.Context(), principal(c), f, pg)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("products", list, next))
	return nil
}

func (s *Server) updateProduct(c *gin.Context) error {
	var patch trace.ProductPatch
	if err := decode(c, &patch); err != nil {
		return err
	}
	p, err := s.registry.UpdateProduct(c.Request.Context(), principal(c), c.Param("gtin"), patch)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, p)
	return nil
}

func (s *Server) createBatch(c *gin.Context) error {
	var in trace.NewBatch
	if err := decode(c, &in); err != nil {
		return err
	}
	b, err := s.registry.CreateBatch(c.Request.Context(), principal(c), c.Param("gtin"), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, b)
	return nil
}

func (s *Server) getBatch(c *gin.Context) error {
	b, err := s.registry.Batch(c.Request.Context(), c.Param("gtin"), c.Param("lot"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, b)
	return nil
}

func (s *Server) listBatches(c *gin.Context) error {
	pg, err := page(c)
	if err != nil {
		return err
	}
	list, next, err := s.registry.Batches(c.Request.Context(), c.Param("gtin"), pg)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("batches", list, next))
	return nil
}
