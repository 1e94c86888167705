// Package workday counts working days the way Chinese regulations do:
// Monday to Friday, less public holidays, plus the weekend days made
// working days around long holidays (调休). Every deadline of the service
// in working days (incident reports, tip-offs, objections, credit repair)
// comes from one Calendar.
//
// Holidays are read from a small text file (see cn.txt, the default,
// embedded); a deadline that reaches a year the file does not cover
// counts weekends only and says it is provisional.
package workday

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

//go:embed cn.txt
var defaultFile []byte

// Default returns the calendar of the embedded schedule (cn.txt) in loc.
func Default(loc *time.Location) (*Calendar, error) {
	return Parse(bytes.NewReader(defaultFile), loc)
}

// Load reads the holiday file at path (see Parse).
func Load(path string, loc *time.Location) (*Calendar, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("holidays: %w", err)
	}
	defer f.Close()
	c, err := Parse(f, loc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// day is a calendar date, independent of time zones.
type day struct {
	y int
	m time.Month
	d int
}

func dayOf(t time.Time) day { y, m, d := t.Date(); return day{y, m, d} }

func (d day) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.y, d.m, d.d) }

// Calendar knows which days are working days in one time zone.
type Calendar struct {
	loc      *time.Location
	holidays map[day]string
	workdays map[day]string
	years    map[int]bool // years whose schedule the file gives in full
}

// Parse reads a holiday file (the format is described in cn.txt). Errors
// name the line.
func Parse(r io.Reader, loc *time.Location) (*Calendar, error) {
	c := &Calendar{loc: loc, holidays: map[day]string{}, workdays: map[day]string{}, years: map[int]bool{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		if err := c.parseLine(line); err != nil {
			return nil, fmt.Errorf("holidays line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("holidays: %w", err)
	}
	return c, nil
}

func (c *Calendar) parseLine(line string) error {
	fields := strings.Fields(line)
	if fields[0] == "year" {
		if len(fields) != 2 {
			return fmt.Errorf("want \"year YYYY\", got %q", line)
		}
		y, err := strconv.Atoi(fields[1])
		if err != nil || y < 1949 || y > 9999 {
			return fmt.Errorf("bad year %q", fields[1])
		}
		c.years[y] = true
		return nil
	}
	if len(fields) < 3 {
		return fmt.Errorf("want \"YYYY-MM-DD[..YYYY-MM-DD] holiday|workday name\", got %q", line)
	}
	from, to, ok := strings.Cut(fields[0], "..")
	if !ok {
		to = from
	}
	first, err1 := time.Parse(time.DateOnly, from)
	last, err2 := time.Parse(time.DateOnly, to)
	if err1 != nil || err2 != nil || last.Before(first) || last.Sub(first) > 31*24*time.Hour {
		return fmt.Errorf("bad date or range %q", fields[0])
	}
	kind, name := fields[1], strings.Join(fields[2:], " ")
	for t := first; !t.After(last); t = t.AddDate(0, 0, 1) {
		d := dayOf(t)
		if !c.years[d.y] {
			return fmt.Errorf("%s is in %d, which has no \"year %d\" line before it", d, d.y, d.y)
		}
		weekend := t.Weekday() == time.Saturday || t.Weekday() == time.Sunday
		switch kind {
		case "holiday":
			if _, dup := c.workdays[d]; dup {
				return fmt.Errorf("%s is both a holiday and a working day", d)
			}
			c.holidays[d] = name
		case "workday":
			if !weekend {
				return fmt.Errorf("%s is a %s, a working day already: only weekend days are made working days", d, t.Weekday())
			}
			if _, dup := c.holidays[d]; dup {
				return fmt.Errorf("%s is both a holiday and a working day", d)
			}
			c.workdays[d] = name
		default:
			return fmt.Errorf("want holiday or workday, got %q", kind)
		}
	}
	return nil
}

// Location is the time zone deadlines are counted in.
func (c *Calendar) Location() *time.Location { return c.loc }

// Covers reports whether the calendar holds year's full schedule.
func (c *Calendar) Covers(year int) bool { return c.years[year] }

// IsWorkingDay reports whether the day of t, in the calendar's time zone,
// is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	t = t.In(c.loc)
	d := dayOf(t)
	if _, ok := c.workdays[d]; ok {
		return true
	}
	if _, ok := c.holidays[d]; ok {
		return false
	}
	return t.Weekday() != time.Saturday && t.Weekday() != time.Sunday
}

// Deadline is the end of a period of working days.
type Deadline struct {
	// Date is the last day of the period, YYYY-MM-DD in the calendar's
	// time zone.
	Date string `json:"date"`
	// Due is the first instant after it: something done at Due or later
	// is late.
	Due time.Time `json:"due"`
	// Provisional is set when the period reaches a year whose holidays
	// the calendar does not hold: weekends alone were counted there.
	Provisional bool `json:"provisional,omitempty"`
}

// Deadline counts n working days after the day of from (which does not
// count, whatever its time): became aware on a Friday, two working days
// end on Tuesday, or later across holidays. n of 0 ends with from's day.
func (c *Calendar) Deadline(from time.Time, n int) Deadline {
	t := from.In(c.loc)
	t = time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, c.loc) // noon: immune to DST shifts
	provisional := false
	for left := n; left > 0; {
		t = t.AddDate(0, 0, 1)
		provisional = provisional || !c.years[t.Year()]
		if c.IsWorkingDay(t) {
			left--
		}
	}
	d := dayOf(t)
	due := time.Date(d.y, d.m, d.d+1, 0, 0, 0, 0, c.loc)
	return Deadline{Date: d.String(), Due: due, Provisional: provisional}
}
