package tracesql

// SetFaults gives tests a hook into ApplyCapture's steps ("custody",
// "events"): an error fails the step, a panic stands for the process
// dying there.
func SetFaults(s *Store, f func(step string) error) { s.faults = f }

// CountRecalledQuery is CountRecalledScans' query and arguments, for
// checking its plan.
var CountRecalledQuery = countRecalled
