package workday_test

import (
	"strings"
	"testing"
	"time"

	"tracesvc/standards/workday"
)

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDeadlines2026(t *testing.T) {
	loc := shanghai(t)
	c, err := workday.Default(loc)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		from string
		n    int
		want string
	}{
		{"2026-03-06 16:00", 2, "2026-03-10"}, // Friday: Monday, Tuesday
		{"2026-03-09 00:00", 2, "2026-03-11"}, // the day itself does not count
		{"2026-03-09 09:00", 0, "2026-03-09"},
		{"2026-02-13 10:00", 2, "2026-02-24"}, // Saturday 14 is a make-up working day; 15–23 Spring Festival
		{"2026-02-13 10:00", 1, "2026-02-14"},
		{"2026-09-30 18:00", 2, "2026-10-09"},  // National Day 1–7; Thursday 8, Friday 9
		{"2026-09-30 18:00", 3, "2026-10-10"},  // Saturday 10 is worked
		{"2026-04-03 12:00", 1, "2026-04-07"},  // Qingming 4–6
		{"2026-12-30 12:00", 15, "2027-01-20"}, // into 2027, which the file does not hold
	} {
		d := c.Deadline(at(tc.from), tc.n)
		if d.Date != tc.want {
			t.Errorf("%s + %d working days = %s, want %s", tc.from, tc.n, d.Date, tc.want)
		}
		due := at(tc.want+" 00:00").AddDate(0, 0, 1)
		if !d.Due.Equal(due) || d.Due.Location() != loc {
			t.Errorf("%s + %d: due %v, want %v", tc.from, tc.n, d.Due, due)
		}
		if d.Provisional != strings.HasPrefix(tc.want, "2027") {
			t.Errorf("%s + %d: provisional %v", tc.from, tc.n, d.Provisional)
		}
	}
	// The day is the regulator's: 23:30 UTC on Friday is Saturday morning in Shanghai.
	utc := time.Date(2026, 3, 6, 23, 30, 0, 0, time.UTC)
	if d := c.Deadline(utc, 1); d.Date != "2026-03-09" {
		t.Errorf("a UTC instant counted from the wrong day: %s", d.Date)
	}
	if !c.IsWorkingDay(at("2026-01-04 10:00")) || c.IsWorkingDay(at("2026-01-02 10:00")) || c.IsWorkingDay(at("2026-03-07 10:00")) {
		t.Error("make-up day, holiday or weekend misjudged")
	}
	if !c.Covers(2026) || c.Covers(2027) {
		t.Error("covered years")
	}
}

func TestParseErrors(t *testing.T) {
	loc := shanghai(t)
	for name, tc := range map[string]struct{ file, want string }{
		"no year line":      {"2026-01-01 holiday New Year", "line 1"},
		"weekday made work": {"year 2026\n2026-03-09 workday Monday", "line 2: 2026-03-09 is a Monday"},
		"both":              {"year 2026\n2026-02-14 holiday x\n2026-02-14 workday y", "line 3: 2026-02-14 is both"},
		"bad kind":          {"year 2026\n2026-01-01 off x", "want holiday or workday"},
		"bad range":         {"year 2026\n2026-01-05..2026-01-01 holiday x", "bad date or range"},
		"too few fields":    {"year 2026\n2026-01-01 holiday", "want \"YYYY-MM-DD"},
		"bad year":          {"year twenty", "bad year"},
	} {
		if _, err := workday.Parse(strings.NewReader(tc.file), loc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	c, err := workday.Parse(strings.NewReader("# none\n\n"), loc)
	if err != nil || c.IsWorkingDay(time.Date(2026, 3, 7, 12, 0, 0, 0, loc)) || !c.Deadline(time.Date(2026, 3, 6, 12, 0, 0, 0, loc), 1).Provisional {
		t.Fatalf("an empty file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("year 2026\n2026-01-01..2026-01-03 holiday x\n2026-01-04 workday y")
	f.Fuzz(func(t *testing.T, file string) {
		c, err := workday.Parse(strings.NewReader(file), time.UTC)
		if err == nil {
			c.Deadline(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 10)
		}
	})
}
