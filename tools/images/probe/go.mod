module labrun.dev/probe

go 1.25.0

require golang.org/x/net v0.56.0
