package handlers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"tracesvc/standards"
	"tracesvc/trace"
)

// declarationPath is where declaration id is served.
func declarationPath(id string) string { return "/api/v1/declarations/" + url.PathEscape(id) }

// withTextURLs points each uploaded standard text of d at where it is
// served.
func withTextURLs(d standards.Declaration) standards.Declaration {
	for i, st := range d.Standards {
		if st.Text != nil {
			t := *st.Text
			t.URL = fmt.Sprintf("%s/standards/%d/text", declarationPath(d.ID), i)
			d.Standards[i].Text = &t
		}
	}
	return d
}

// declared answers with the declaration a write made or changed.
func declared(c *gin.Context, status int, d standards.Declaration, err error) error {
	if err != nil {
		return err
	}
	setTarget(c, "declaration:"+d.ID)
	if status == http.StatusCreated {
		c.Header("Location", declarationPath(d.ID))
	}
	c.JSON(status, withTextURLs(d))
	return nil
}

func (s *Server) declare(c *gin.Context) error {
	var in standards.NewDeclaration
	if err := decode(c, &in); err != nil {
		return err
	}
	d, err := s.declarations.Declare(c.Request.Context(), principal(c), in)
	return declared(c, http.StatusCreated, d, err)
}

func (s *Server) replaceDeclaration(c *gin.Context) error {
	var in standards.NewDeclaration
	if err := decode(c, &in); err != nil {
		return err
	}
	d, err := s.declarations.Replace(c.Request.Context(), principal(c), c.Param("id"), in)
	return declared(c, http.StatusOK, d, err)
}

func (s *Server) reviseDeclaration(c *gin.Context) error {
	var in standards.NewDeclaration
	if err := decode(c, &in); err != nil {
		return err
	}
	d, err := s.declarations.Revise(c.Request.Context(), principal(c), c.Param("id"), in)
	return declared(c, http.StatusCreated, d, err)
}

func (s *Server) publishDeclaration(c *gin.Context) error {
	d, err := s.declarations.Publish(c.Request.Context(), principal(c), c.Param("id"))
	return declared(c, http.StatusOK, d, err)
}

func (s *Server) withdrawDeclaration(c *gin.Context) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	d, err := s.declarations.Withdraw(c.Request.Context(), principal(c), c.Param("id"), in.Reason)
	return declared(c, http.StatusOK, d, err)
}

func (s *Server) getDeclaration(c *gin.Context) error {
	d, err := s.declarations.Get(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, withTextURLs(d))
	return nil
}

func (s *Server) declarationHistory(c *gin.Context) error {
	list, err := s.declarations.History(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	for i := range list {
		list[i] = withTextURLs(list[i])
	}
	c.JSON(http.StatusOK, listBody("versions", list, ""))
	return nil
}

func (s *Server) listDeclarations(c *gin.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	q := standards.Search{EntityID: c.Query("entity"), GTIN: c.Query("gtin"), Standard: c.Query("standard"),
		Query: c.Query("q"), Status: c.Query("status")}
	list, next, err := s.declarations.List(c.Request.Context(), principal(c), q, p)
	if err != nil {
		return err
	}
	for i := range list {
		list[i] = withTextURLs(list[i])
	}
	c.JSON(http.StatusOK, listBody("declarations", list, next))
	return nil
}

// standardIndex reads the :n of a standard text's path.
func standardIndex(c *gin.Context) (int, error) {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("standard %q: standards are counted from 0: %w", c.Param("n"), standards.ErrNotFound)
	}
	return n, nil
}

// putStandardText takes a standard's PDF as the request body.
func (s *Server) putStandardText(c *gin.Context) error {
	n, err := standardIndex(c)
	if err != nil {
		return err
	}
	pdf, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, standards.MaxTextSize))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return trace.Invalid("body", "a standard text is at most %d MiB", standards.MaxTextSize>>20)
	} else if err != nil {
		return err
	}
	d, err := s.declarations.PutText(c.Request.Context(), principal(c), c.Param("id"), n, pdf)
	return declared(c, http.StatusOK, d, err)
}

// standardText serves a standard's PDF to whoever may see its
// declaration.
func (s *Server) standardText(c *gin.Context) error {
	n, err := standardIndex(c)
	if err != nil {
		return err
	}
	f, err := s.declarations.StandardText(c.Request.Context(), principal(c), c.Param("id"), n)
	if err != nil {
		return err
	}
	c.Header("Content-Disposition", `inline; filename="`+f.Name+`"`)
	if f.Public {
		c.Header("Cache-Control", "public, max-age=86400, immutable") // a published text never changes
	} else {
		c.Header("Cache-Control", "private, no-store") // a draft's, for its entity and officials
	}
	c.Data(http.StatusOK, "application/pdf", f.PDF)
	return nil
}
