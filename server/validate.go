package server

import "github.com/holdfast/holdfast"

// The field checks of the root package, under the names the handlers use.
var (
	checkName        = holdfast.CheckName
	checkDescription = holdfast.CheckDescription
	checkEmail       = holdfast.CheckEmail
	checkCountry     = holdfast.CheckCountry
	checkTimeZone    = holdfast.CheckTimeZone
)
