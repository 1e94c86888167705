package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"tracesvc/recall"
	"tracesvc/trace/safecsv"
)

// recallPath is where campaign id is served.
func recallPath(id string) string { return "/api/v1/recalls/" + id }

// campaignAnswer answers a write to a campaign with the campaign.
func campaignAnswer(c *gin.Context, status int, rc recall.Campaign, err error) error {
	if err != nil {
		return err
	}
	setTarget(c, "recall:"+rc.ID)
	if status == http.StatusCreated {
		c.Header("Location", recallPath(rc.ID))
	}
	c.JSON(status, rc)
	return nil
}

func (s *Server) createRecall(c *gin.Context) error {
	var in recall.NewCampaign
	if err := decode(c, &in); err != nil {
		return err
	}
	rc, err := s.recalls.Create(c.Request.Context(), principal(c), in)
	return campaignAnswer(c, http.StatusCreated, rc, err)
}

func (s *Server) getRecall(c *gin.Context) error {
	v, err := s.recalls.Get(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

// listRecalls lists campaigns: ?status=, ?maker=.
func (s *Server) listRecalls(c *gin.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	list, next, err := s.recalls.List(c.Request.Context(), principal(c),
		recall.CampaignQuery{Status: recall.Status(c.Query("status")), Maker: c.Query("maker")}, p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("recalls", list, next))
	return nil
}

// recallAction answers POST /api/v1/recalls/{id}/{action}.
func (s *Server) recallAction(c *gin.Context) error {
	ctx, p, id := c.Request.Context(), principal(c), c.Param("id")
	var rc recall.Campaign
	var err error
	switch c.Param("action") {
	case "open":
		rc, err = s.recalls.Open(ctx, p, id)
	case "cancel":
		rc, err = s.recalls.Cancel(ctx, p, id)
	case "complete":
		rc, err = s.recalls.Complete(ctx, p, id)
	case "rescope":
		rc, err = s.recalls.Rescope(ctx, p, id)
	case "terminate":
		var in struct {
			Reason string `json:"reason"`
		}
		if err := decode(c, &in); err != nil {
			return err
		}
		rc, err = s.recalls.Terminate(ctx, p, id, in.Reason)
	default:
		return fmt.Errorf("no such endpoint: %s: %w", c.Request.URL.Path, errNoRoute)
	}
	setTarget(c, "recall:"+id)
	return campaignAnswer(c, http.StatusOK, rc, err)
}

// recallReport gives a campaign's figures per consignee as CSV.
func (s *Server) recallReport(c *gin.Context) error {
	rc, rows, err := s.recalls.ConsigneeReport(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := safecsv.NewWriter(&buf)
	head := []string{"notice", "entity_id", "name", "level", "units", "delivery", "notified", "acknowledged_at", "ack_by"}
	head = append(head, recall.Recoveries...)
	head = append(head, "recovered", "outstanding")
	if err := w.Write(head); err != nil {
		return err
	}
	for _, r := range rows {
		acked := ""
		if !r.Notice.AckedAt.IsZero() {
			acked = r.Notice.AckedAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		rec := []string{r.Notice.ID, r.Notice.EntityID, r.Name, r.Notice.Level, strconv.Itoa(r.Notice.Units), string(r.Delivery),
			strconv.FormatBool(r.Notified), acked, r.Notice.AckBy.UTC().Format("2006-01-02T15:04:05Z")}
		for _, how := range recall.Recoveries {
			n := r.Notice.Recovery.Counts[how]
			for _, h := range r.Notice.Recovery.Serials {
				if h == how {
					n++
				}
			}
			rec = append(rec, strconv.Itoa(n))
		}
		rec = append(rec, strconv.Itoa(r.Recovered), strconv.Itoa(max(r.Notice.Units-r.Recovered, 0)))
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="recall-%s.csv"`, rc.ID))
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
	return nil
}

// listNotices lists notices: a custodian's own; officials' by ?recall=
// and ?entity=.
func (s *Server) listNotices(c *gin.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	list, next, err := s.recalls.Notices(c.Request.Context(), principal(c),
		recall.NoticeQuery{CampaignID: c.Query("recall"), EntityID: c.Query("entity")}, p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("notices", list, next))
	return nil
}

func (s *Server) getNotice(c *gin.Context) error {
	n, err := s.recalls.Notice(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, n)
	return nil
}

func (s *Server) ackNotice(c *gin.Context) error {
	n, err := s.recalls.Ack(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	setTarget(c, "notice:"+n.ID)
	c.JSON(http.StatusOK, n)
	return nil
}

func (s *Server) reportRecovery(c *gin.Context) error {
	var in recall.Return
	if err := decode(c, &in); err != nil {
		return err
	}
	r, err := s.recalls.ReportRecovery(c.Request.Context(), principal(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	setTarget(c, "notice:"+r.Notice.ID)
	c.JSON(http.StatusOK, r)
	return nil
}
