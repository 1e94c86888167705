// Package safecsv writes CSV that a spreadsheet opens as data, never as
// formulas: a cell that begins with =, +, -, @, a tab or a carriage
// return (CSV injection, CWE-1236) gets a leading apostrophe, unless it
// is a plain number. Every CSV export of the service goes through it.
package safecsv

import (
	"encoding/csv"
	"io"
	"strconv"
)

// Cell returns s neutralised for a spreadsheet: as it is, or with a
// leading apostrophe when a spreadsheet would take it for a formula.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := strconv.ParseFloat(s, 64); err == nil && s[0] != '=' && s[0] != '@' {
			return s // -12.5 is a number, not a formula
		}
		return "'" + s
	}
	return s
}

// Writer is a csv.Writer that neutralises every cell it writes.
type Writer struct {
	w   *csv.Writer
	buf []string
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record, each cell passed through [Cell].
func (w *Writer) Write(record []string) error {
	w.buf = w.buf[:0]
	for _, s := range record {
		w.buf = append(w.buf, Cell(s))
	}
	return w.w.Write(w.buf)
}

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() { w.w.Flush() }

// Error reports any error of a previous Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }
