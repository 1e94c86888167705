package trace

import "time"

// Clock tells the time. Services take one so that tests can set the time;
// nil means [time.Now].
type Clock func() time.Time

// Now returns the clock's reading in UTC at the millisecond precision every
// backend stores.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now().UTC().Truncate(time.Millisecond)
	}
	return c().UTC().Truncate(time.Millisecond)
}
