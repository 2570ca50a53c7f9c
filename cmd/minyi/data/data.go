// Package data is the reference data the commands embed: the demo poll
// and the benchmarks draw on the same census.
package data

import _ "embed"

// ChongqingDistricts are the 40 districts of Chongqing at the 2010 census,
// as a districts CSV (code,name,resident_population).
//
//go:embed chongqing-2010-districts.csv
var ChongqingDistricts []byte
