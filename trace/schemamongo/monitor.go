package schemamongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"
)

// Commands are the command names [CommandMonitor] reports as they are;
// any other command is reported as "other", so that the names stay few.
var Commands = []string{"find", "getMore", "insert", "update", "delete", "findAndModify", "aggregate", "count",
	"distinct", "bulkWrite", "createIndexes", "listIndexes", "dropIndexes", "killCursors", "endSessions", "ping", "other"}

// commandName returns name when it is one of [Commands], else "other".
// The switch does not allocate, unlike a map keyed by the name.
func commandName(name string) string {
	switch name {
	case "find", "getMore", "insert", "update", "delete", "findAndModify", "aggregate", "count",
		"distinct", "bulkWrite", "createIndexes", "listIndexes", "dropIndexes", "killCursors", "endSessions", "ping":
		return name
	}
	return "other"
}

// CommandMonitor returns a command monitor for the client's options
// (options.Client().SetMonitor) that tells observe how long each command
// took, by command name (see [Commands]), whether it succeeded or failed.
// It sets no Started function, so the driver builds no started events.
func CommandMonitor(observe func(command string, d time.Duration)) *event.CommandMonitor {
	return &event.CommandMonitor{
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
			observe(commandName(e.CommandName), e.Duration)
		},
		Failed: func(_ context.Context, e *event.CommandFailedEvent) {
			observe(commandName(e.CommandName), e.Duration)
		},
	}
}
