package tracemongo

// SetFaults gives tests a hook into ApplyCapture's steps ("intent",
// "custody", "events", "commit"): an error fails the step, a panic stands
// for the process dying there.
func SetFaults(s *Store, f func(step string) error) { s.faults = f }
