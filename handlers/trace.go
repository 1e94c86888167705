package handlers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

// traceRequest is a trace as asked for: where it starts, its bounds, how
// it shows unmoved codes, and whether it streams.
type traceRequest struct {
	keys   []string
	opt    trace.TraceOptions
	codes  string // "summary" or "all"
	stream bool
}

// readTrace reads a trace request. ?codes=all lists every code of a lot
// (default: summary, a count of those no event named); ?format=ndjson, or
// Accept: application/x-ndjson, streams.
func readTrace(c *gin.Context) (traceRequest, error) {
	var r traceRequest
	var err error
	if r.keys, err = traceStart(c); err != nil {
		return r, err
	}
	if r.opt.MaxDepth, err = queryInt(c, "depth"); err != nil {
		return r, err
	}
	if r.opt.MaxNodes, err = queryInt(c, "maxNodes"); err != nil {
		return r, err
	}
	switch r.codes = c.DefaultQuery("codes", "summary"); r.codes {
	case "summary":
		r.opt.SummariseUnmoved = true
	case "all":
	default:
		return r, trace.Invalid("codes", "must be summary (count the codes no event named yet, the default) or all (list them), got %q", r.codes)
	}
	switch f := c.Query("format"); f {
	case "":
		r.stream = c.NegotiateFormat(mediaJSON, mediaNDJSON) == mediaNDJSON
	case "json", "ndjson":
		r.stream = f == "ndjson"
	default:
		return r, trace.Invalid("format", "must be json or ndjson, got %q", f)
	}
	return r, nil
}

// unmovedView is a count of unmoved codes with where to list them.
type unmovedView struct {
	trace.UnmovedCodes
	// CodesURL lists the lot's codes page by page (each with its state);
	// codes=all puts them in the trace.
	CodesURL string `json:"codesUrl"`
}

func viewUnmoved(u trace.UnmovedCodes) unmovedView {
	return unmovedView{UnmovedCodes: u, CodesURL: "/api/v1/products/" + u.GTIN + "/batches/" + url.PathEscape(u.Lot) + "/codes"}
}

// traceAnswer is the JSON answer of a trace: the graph, with where to find
// what it does not hold.
type traceAnswer struct {
	trace.TraceGraph
	Unmoved []unmovedView `json:"unmoved,omitempty"`
	// More says how to get the rest of a graph cut short.
	More string `json:"more,omitempty"`
}

// traceWalk answers GET /api/v1/trace/{forward|backward}: the graph as one
// JSON document (at most 100,000 nodes), or streamed as NDJSON records.
func (s *Server) traceWalk(dir trace.Direction) func(*gin.Context) error {
	return func(c *gin.Context) error {
		r, err := readTrace(c)
		if err != nil {
			return err
		}
		// Walks take turns (see DefaultTraceWalks); a client that gives up
		// while waiting leaves the queue.
		select {
		case s.walks <- struct{}{}:
			defer func() { <-s.walks }()
		case <-c.Request.Context().Done():
			return context.Cause(c.Request.Context())
		}
		if r.stream {
			return s.streamTrace(c, dir, r)
		}
		g, err := s.chain.Trace(c.Request.Context(), principal(c), r.keys, dir, r.opt)
		if err != nil {
			return err
		}
		out := traceAnswer{TraceGraph: g}
		for _, u := range g.Unmoved {
			out.Unmoved = append(out.Unmoved, viewUnmoved(u))
		}
		if g.Truncated {
			out.More = moreOf(c, g.Reason, g.MaxDepth)
		}
		return s.writeAnswer(c, out)
	}
}

// writeAnswer writes a trace's JSON answer as c.JSON would, byte for byte,
// but its nodes, edges and custodians one at a time through a buffer: a
// 100,000-node answer is not held a second time as one encoded document
// (which encoding it whole, with the encoder's doubling buffer and the
// final copy, takes about three times its size). A failure once the
// answer has begun is logged and cuts it short.
func (s *Server) writeAnswer(c *gin.Context, out traceAnswer) error {
	frame, lists, err := framed(out)
	if err != nil {
		return err
	}
	c.Header("Content-Type", mediaJSON+"; charset=utf-8")
	c.Status(http.StatusOK)
	if err := writeFramed(c.Writer, frame, lists); err != nil {
		s.logger.ErrorContext(c.Request.Context(), "trace answer cut short", "path", c.FullPath(), "err", err)
	}
	return nil
}

// framed splits a trace answer into its frame, the answer encoded with its
// nodes, edges and custodians as empty lists, and those lists.
func framed(out traceAnswer) ([]byte, []graphList, error) {
	nodes, edges, holders := out.Nodes, out.Edges, out.Custodians
	var lists []graphList
	if nodes != nil {
		out.Nodes = []trace.TraceNode{}
		lists = append(lists, graphList{`"nodes":[`, len(nodes), func(b []byte, i int) ([]byte, error) { return appendNode(b, nodes[i]), nil }})
	}
	if edges != nil {
		out.Edges = []trace.TraceEdge{}
		lists = append(lists, graphList{`"edges":[`, len(edges), func(b []byte, i int) ([]byte, error) { return appendEdge(b, edges[i]) }})
	}
	if holders != nil {
		out.Custodians = []trace.Holding{}
		lists = append(lists, graphList{`"custodians":[`, len(holders), func(b []byte, i int) ([]byte, error) {
			h, err := json.Marshal(holders[i])
			return append(b, h...), err
		}})
	}
	frame, err := json.Marshal(out)
	if err != nil {
		return nil, nil, fmt.Errorf("trace answer: %w", err)
	}
	return frame, lists, nil
}

// graphList is one list of a JSON answer written element by element: its
// member name with the opening bracket, as the frame spells it, and its
// elements, each appended as json.Marshal writes it.
type graphList struct {
	open string
	n    int
	elem func(b []byte, i int) ([]byte, error)
}

// writeFramed writes frame, a JSON document in which each of lists (in
// the order they come in it) is an empty list, with each list's elements
// written in, encoded one at a time. A member name cannot occur inside a
// JSON string of the frame (its quotes would be escaped there), and the
// frame's lists come in order, so the first match after the last is the
// list itself.
func writeFramed(w io.Writer, frame []byte, lists []graphList) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	rest := frame
	for _, l := range lists {
		at := bytes.Index(rest, []byte(l.open+"]"))
		if at < 0 {
			return fmt.Errorf("trace answer: no empty %s] in its frame", l.open)
		}
		bw.Write(rest[:at+len(l.open)])
		rest = rest[at+len(l.open):]
		var b []byte
		for i := range l.n {
			if i > 0 {
				bw.WriteByte(',')
			}
			var err error
			if b, err = l.elem(b[:0], i); err != nil {
				return fmt.Errorf("trace answer: %s element %d: %w", l.open, i, err)
			}
			if _, err := bw.Write(b); err != nil {
				return err
			}
		}
	}
	bw.Write(rest)
	return bw.Flush()
}

// moreOf says how to get the rest of a walk that stopped for reason.
func moreOf(c *gin.Context, reason string, depth int) string {
	q := c.Request.URL.Query()
	q.Set("format", "ndjson")
	q.Del("maxNodes")
	stream := c.Request.URL.Path + "?" + q.Encode()
	if depth >= trace.MaxTraceDepth {
		return fmt.Sprintf("%s; the walk goes at most %d levels deep: trace again from the nodes it stopped at", reason, trace.MaxTraceDepth)
	}
	return fmt.Sprintf("%s; stream the whole graph with Accept: %s (%s), which walks up to %d nodes and %d levels (depth=)",
		reason, mediaNDJSON, stream, trace.MaxStreamNodes, trace.MaxTraceDepth)
}

// Records of a streamed trace, one JSON object a line, each with its type.
type (
	traceHead struct {
		Type      string          `json:"type"` // "trace"
		Start     []string        `json:"start"`
		Direction trace.Direction `json:"direction"`
		MaxDepth  int             `json:"maxDepth"`
		MaxNodes  int             `json:"maxNodes"`
		Codes     string          `json:"codes"`
	}
	// nodeRecord and edgeRecord are the records appendNodeRecord and
	// appendEdgeRecord write, which the tests hold to these shapes.
	nodeRecord struct {
		Type string `json:"type"` // "node"
		trace.TraceNode
	}
	edgeRecord struct {
		Type string `json:"type"` // "edge"
		trace.TraceEdge
	}
	unmovedRecord struct {
		Type string `json:"type"` // "unmoved"
		unmovedView
	}
	// custodianRecord is a Holding without its keys: the edges tell what
	// moved to whom.
	custodianRecord struct {
		Type     string             `json:"type"` // "custodian"
		EntityID string             `json:"entityId"`
		Name     string             `json:"name,omitempty"`
		Items    int                `json:"items"`
		Amounts  map[string]float64 `json:"quantities,omitempty"`
		Current  int                `json:"currentItems"`
	}
	endRecord struct {
		Type string `json:"type"` // "end"
		trace.WalkResult
		More string `json:"more,omitempty"`
	}
	errorRecord struct {
		Type  string   `json:"type"` // "error"
		Error apiError `json:"error"`
	}
)

// ndjsonSink writes a walk as NDJSON records. The status and the head
// record go out with the first thing found, so that an error before it (a
// key that may not trace this start) still gets its own status.
type ndjsonSink struct {
	c    *gin.Context
	bw   *bufio.Writer
	enc  *json.Encoder // on bw: one line a record, without a copy of each
	rec  []byte        // the node or edge record being written
	head traceHead
	sent bool
}

// begin sends the status and the head record, once.
func (s *ndjsonSink) begin() error {
	if s.sent {
		return nil
	}
	s.sent = true
	s.c.Header("Content-Type", mediaNDJSON+"; charset=utf-8")
	s.c.Status(http.StatusOK)
	s.c.Writer.WriteHeaderNow()
	return s.enc.Encode(s.head)
}

func (s *ndjsonSink) write(v any) error {
	if err := s.begin(); err != nil {
		return err
	}
	return s.enc.Encode(v)
}

// Node and Edge write their records with the appenders of
// tracerecords.go, the same bytes as the encoder.
func (s *ndjsonSink) Node(n trace.TraceNode) error {
	if err := s.begin(); err != nil {
		return err
	}
	s.rec = appendNodeRecord(s.rec[:0], n)
	_, err := s.bw.Write(s.rec)
	return err
}

func (s *ndjsonSink) Edge(e trace.TraceEdge) error {
	if err := s.begin(); err != nil {
		return err
	}
	var err error
	if s.rec, err = appendEdgeRecord(s.rec[:0], e); err != nil {
		return fmt.Errorf("edge %s → %s: %w", e.From, e.To, err)
	}
	_, err = s.bw.Write(s.rec)
	return err
}
func (s *ndjsonSink) Unmoved(u trace.UnmovedCodes) error {
	return s.write(unmovedRecord{"unmoved", viewUnmoved(u)})
}
func (s *ndjsonSink) Custodian(h trace.Holding) error {
	return s.write(custodianRecord{Type: "custodian", EntityID: h.EntityID, Name: h.Name, Items: h.Items, Amounts: h.Amounts, Current: h.Current})
}

// streamTrace streams a walk as NDJSON: a "trace" record, then "node",
// "edge" and "unmoved" records as the walk finds them, "custodian" records
// once it is over, and last an "end" record. A stream that breaks off ends
// with an "error" record instead; one without an "end" record was cut.
func (s *Server) streamTrace(c *gin.Context, dir trace.Direction, r traceRequest) error {
	bw := bufio.NewWriterSize(c.Writer, 64<<10)
	sink := &ndjsonSink{c: c, bw: bw, enc: json.NewEncoder(bw),
		head: traceHead{Type: "trace", Start: r.keys, Direction: dir, MaxDepth: r.opt.MaxDepth, MaxNodes: r.opt.MaxNodes, Codes: r.codes}}
	if sink.head.MaxDepth == 0 {
		sink.head.MaxDepth = trace.DefaultTraceDepth
	}
	if sink.head.MaxNodes == 0 {
		sink.head.MaxNodes = trace.DefaultStreamNodes
	}
	res, err := s.chain.Walk(c.Request.Context(), principal(c), r.keys, dir, r.opt, sink)
	if err != nil && !sink.sent {
		return err
	}
	if err != nil {
		if e, ok := streamError(c, s.logger, err); ok {
			sink.write(errorRecord{"error", e})
		}
	} else {
		end := endRecord{Type: "end", WalkResult: res}
		if res.Truncated {
			end.More = fmt.Sprintf("%s; trace again from the nodes it stopped at, or with a larger depth= (at most %d)", res.Reason, trace.MaxTraceDepth)
		}
		sink.write(end)
	}
	sink.bw.Flush()
	return nil
}
