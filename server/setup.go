package server

import "github.com/holdfast/holdfast/setup"

// SetupPath is the page that sets the first administrator's password with
// the link setup.Bootstrap made (setupPage serves it).
const SetupPath = setup.Path
