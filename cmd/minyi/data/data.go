// Package data is the reference data the commands embed: the demo poll
// and the benchmarks draw on the same census.
package data

import _ "embed"

// ChongqingDistricts are the 40 districts of Chongqing at the 2010 census,
// on the boundaries of that year, as a districts CSV
// (code,name,resident_population). The benchmarks and tests use it.
//
//go:embed chongqing-2010-districts.csv
var ChongqingDistricts []byte

// Chongqing2016Districts are the same 2010 census counts on the 38
// districts and counties of Chongqing since 2016, with their current codes
// and names, their residents by sex and the 2010 units each is made of
// (docs/demo-data.md): a districts CSV with the more columns
// male,female,sex_source,census_2010. The demo uses it.
//
//go:embed chongqing-2016-districts.csv
var Chongqing2016Districts []byte
