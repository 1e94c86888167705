package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"tracesvc/recall/credit"
	"tracesvc/trace"
)

func (s *Server) creditRules(c *gin.Context) error {
	c.JSON(http.StatusOK, s.credit.Rules())
	return nil
}

// creditStanding is an entity's published class on ?at= (today by
// default).
func (s *Server) creditStanding(c *gin.Context) error {
	st, err := s.credit.Standing(c.Request.Context(), c.Param("id"), c.Query("at"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

func (s *Server) creditLedger(c *gin.Context) error {
	events, err := s.credit.FullLedger(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("events", events, ""))
	return nil
}

func (s *Server) recordCreditEvent(c *gin.Context) error {
	var in credit.NewEvent
	if err := decode(c, &in); err != nil {
		return err
	}
	e, err := s.credit.RecordEvent(c.Request.Context(), principal(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	setTarget(c, "credit:"+e.ID)
	c.JSON(http.StatusCreated, e)
	return nil
}

func (s *Server) creditHistory(c *gin.Context) error {
	h, err := s.credit.History(c.Request.Context(), c.Param("id"), c.Query("from"), c.Query("to"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"entityId": c.Param("id"), "classes": h})
	return nil
}

// fileCreditRequest files an objection or a repair application.
func (s *Server) fileCreditRequest(kind string) func(*gin.Context) error {
	return func(c *gin.Context) error {
		var in credit.NewRequest
		if err := decode(c, &in); err != nil {
			return err
		}
		r, err := s.credit.File(c.Request.Context(), principal(c), kind, c.Param("id"), c.Param("event"), in)
		if err != nil {
			return err
		}
		setTarget(c, kind+":"+r.ID)
		c.JSON(http.StatusCreated, r)
		return nil
	}
}

func (s *Server) listCreditRequests(kind string) func(*gin.Context) error {
	return func(c *gin.Context) error {
		list, err := s.credit.Requests(c.Request.Context(), principal(c), kind, c.Query("entity"), c.Query("status"))
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, listBody(kind+"s", list, ""))
		return nil
	}
}

func (s *Server) getCreditRequest(kind string) func(*gin.Context) error {
	return func(c *gin.Context) error {
		r, err := s.credit.Request(c.Request.Context(), principal(c), kind, c.Param("rid"))
		if err != nil {
			return err
		}
		for i := range r.Attachments {
			r.Attachments[i].Data = nil
		}
		c.JSON(http.StatusOK, r)
		return nil
	}
}

// creditAttachment serves one attachment of an objection.
func (s *Server) creditAttachment(c *gin.Context) error {
	r, err := s.credit.Request(c.Request.Context(), principal(c), credit.KindObjection, c.Param("rid"))
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 0 || n >= len(r.Attachments) {
		return fmt.Errorf("objection %s has no attachment %s: %w", r.ID, c.Param("n"), credit.ErrNotFound)
	}
	a := r.Attachments[n]
	c.Header("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(a.Name))
	c.Data(http.StatusOK, a.ContentType, a.Data)
	return nil
}

// decideCreditRequest is a regulator's decision: {"granted":true|false,
// "reason"} (also "upheld" for objections and "approved" for repairs).
func (s *Server) decideCreditRequest(kind string) func(*gin.Context) error {
	return func(c *gin.Context) error {
		var in struct {
			Granted  *bool  `json:"granted"`
			Upheld   *bool  `json:"upheld"`
			Approved *bool  `json:"approved"`
			Reason   string `json:"reason"`
		}
		if err := decode(c, &in); err != nil {
			return err
		}
		granted := in.Granted
		for _, v := range []*bool{in.Upheld, in.Approved} {
			if v != nil {
				granted = v
			}
		}
		if granted == nil {
			return trace.Invalid("granted", "say whether the %s is granted (upheld or approved): true or false", kind)
		}
		r, err := s.credit.Decide(c.Request.Context(), principal(c), kind, c.Param("rid"), *granted, in.Reason)
		if err != nil {
			return err
		}
		setTarget(c, kind+":"+r.ID)
		c.JSON(http.StatusOK, r)
		return nil
	}
}

func (s *Server) creditList(c *gin.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	list, next, err := s.credit.List(c.Request.Context(), c.Param("list"), c.Query("removed") == "true", p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("entries", list, next))
	return nil
}

func (s *Server) enterList(c *gin.Context) error {
	var in struct {
		EntityID string `json:"entityId"`
		Reason   string `json:"reason"`
		Date     string `json:"date"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	l, err := s.credit.Enter(c.Request.Context(), principal(c), c.Param("list"), in.EntityID, in.Reason, in.Date)
	if err != nil {
		return err
	}
	setTarget(c, "listing:"+l.ID)
	c.JSON(http.StatusCreated, l)
	return nil
}

func (s *Server) removeFromList(c *gin.Context) error {
	var in struct {
		Reason string `json:"reason"`
		Date   string `json:"date"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	l, err := s.credit.Remove(c.Request.Context(), principal(c), c.Param("lid"), in.Reason, in.Date)
	if err != nil {
		return err
	}
	setTarget(c, "listing:"+l.ID)
	c.JSON(http.StatusOK, l)
	return nil
}

func (s *Server) listProposals(c *gin.Context) error {
	list, err := s.credit.Proposals(c.Request.Context(), principal(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("proposals", list, ""))
	return nil
}

func (s *Server) confirmProposal(c *gin.Context) error {
	l, err := s.credit.Confirm(c.Request.Context(), principal(c), c.Param("lid"))
	if err != nil {
		return err
	}
	setTarget(c, "listing:"+l.ID)
	c.JSON(http.StatusCreated, l)
	return nil
}
