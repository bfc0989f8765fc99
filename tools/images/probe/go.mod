module labrun.dev/probe

go 1.24
